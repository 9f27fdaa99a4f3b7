import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createWebchatConnector, webchatOptionsSchema } from './connector';

export const webchatChannel: ChannelDescriptor = {
  type: 'webchat',
  options: { schema: webchatOptionsSchema, hints: {} },
  create: createWebchatConnector,
  online: { skipped: 'served by the hub itself' },
};
