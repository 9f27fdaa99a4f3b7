import { type ChannelDescriptor, loadedOnDemand } from '../../core/channels/descriptor';
import { telegramHints, telegramOptionsSchema } from './options';

/** The connector and its platform SDK are imported only where a telegram block is enabled (or checked online). */
export const telegramChannel: ChannelDescriptor = {
  type: 'telegram',
  options: { schema: telegramOptionsSchema, hints: telegramHints },
  ...loadedOnDemand('telegram', async () => (await import('./connector')).createTelegramConnector),
  online: async (config, context) => (await import('./online')).checkTelegramOnline(config, context),
};
