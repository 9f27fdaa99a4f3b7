import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createRestConnector } from './connector';
import { restOptionHints, restOptionsSchema } from './options';

/** Synchronous JSON over HTTP, authenticated by the hub's API keys; no platform to ask. */
export const restChannel: ChannelDescriptor = {
  type: 'rest',
  options: { schema: restOptionsSchema, hints: restOptionHints },
  create: createRestConnector,
  online: { skipped: 'no platform credentials' },
};
