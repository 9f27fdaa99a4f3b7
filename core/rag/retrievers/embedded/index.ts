import { z } from 'zod';
import { ANSWER_MIN_SCORE } from '../../extractive';
import { HashEmbedder } from '../../hash-embedder';
import { defineRetriever } from '../descriptor';
import { EmbeddedRetriever } from './retriever';

export {
  DEFAULT_FEATURES,
  DEFAULT_RETRIEVAL_WEIGHTS,
  EmbeddedRetriever,
  type EmbeddedRetrieverOptions,
  type RetrievalFeatures,
  type RetrievalWeights,
} from './retriever';

/**
 * In-process lexical search (Orama BM25 over question, alternative questions and text, character
 * n-grams); vectors join in only when a real embedding model is configured (`knowledge.embeddings`).
 */
export const embeddedRetriever = defineRetriever({
  name: 'embedded',
  options: z.object({}),
  create: (_options, context) =>
    new EmbeddedRetriever({
      embedder: context.embedder,
      features: { vectors: !(context.embedder instanceof HashEmbedder), ...context.features },
      ...(context.weights ? { weights: context.weights } : {}),
      ...(context.candidates ? { candidates: context.candidates } : {}),
    }),
  // The score's threshold when no calibration ran (see extractive.ts).
  defaultMinScore: ANSWER_MIN_SCORE,
  online: { skipped: 'in-process: nothing to reach' },
});
