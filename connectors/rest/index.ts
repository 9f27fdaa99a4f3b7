import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createRestConnector } from './connector';

/** Synchronous JSON over HTTP: nothing beyond the common block, no platform to ask. */
export const restChannel: ChannelDescriptor = {
  type: 'rest',
  create: createRestConnector,
  online: { skipped: 'no platform credentials' },
};
