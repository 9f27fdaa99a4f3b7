import { type ChannelDescriptor, loadedOnDemand } from '../../core/channels/descriptor';
import { slackHints, slackOptionsSchema } from './options';

/** The connector and its platform SDK are imported only where a slack block is enabled (or checked online). */
export const slackChannel: ChannelDescriptor = {
  type: 'slack',
  options: { schema: slackOptionsSchema, hints: slackHints },
  ...loadedOnDemand('slack', async () => (await import('./connector')).createSlackConnector),
  online: async (config, context) => (await import('./online')).checkSlackOnline(config, context),
};
