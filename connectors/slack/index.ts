import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createSlackConnector } from './connector';
import { checkSlackOnline } from './online';
import { slackHints, slackOptionsSchema } from './options';

export const slackChannel: ChannelDescriptor = {
  type: 'slack',
  options: { schema: slackOptionsSchema, hints: slackHints },
  create: createSlackConnector,
  online: checkSlackOnline,
};
