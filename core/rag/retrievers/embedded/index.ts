import { z } from 'zod';
import { ANSWER_MIN_SCORE } from '../../extractive';
import { defineRetriever } from '../descriptor';
import { EmbeddedRetriever } from './retriever';

export { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './retriever';

/** In-process hybrid search (Orama BM25 + vectors); nothing to configure. */
export const embeddedRetriever = defineRetriever({
  name: 'embedded',
  options: z.object({}),
  create: (_options, context) => new EmbeddedRetriever(context),
  // The fused score's threshold (see extractive.ts).
  defaultMinScore: ANSWER_MIN_SCORE,
  online: { skipped: 'in-process: nothing to reach' },
});
