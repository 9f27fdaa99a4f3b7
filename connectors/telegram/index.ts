import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createTelegramConnector } from './connector';
import { checkTelegramOnline } from './online';
import { telegramHints, telegramOptionsSchema } from './options';

export const telegramChannel: ChannelDescriptor = {
  type: 'telegram',
  options: { schema: telegramOptionsSchema, hints: telegramHints },
  create: createTelegramConnector,
  online: checkTelegramOnline,
};
