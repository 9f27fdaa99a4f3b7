import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createWhatsAppConnector } from './connector';
import { checkWhatsAppOnline } from './online';
import { whatsappHints, whatsappOptionsSchema } from './options';

export const whatsappChannel: ChannelDescriptor = {
  type: 'whatsapp',
  options: { schema: whatsappOptionsSchema, hints: whatsappHints },
  create: createWhatsAppConnector,
  online: checkWhatsAppOnline,
};
