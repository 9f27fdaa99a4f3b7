import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createWhatsAppWebConnector } from './connector';
import { whatsappWebHints, whatsappWebOptionsSchema } from './options';

export const whatsappWebChannel: ChannelDescriptor = {
  type: 'whatsapp-web',
  options: { schema: whatsappWebOptionsSchema, hints: whatsappWebHints },
  create: (context) => createWhatsAppWebConnector(context),
  online: { skipped: 'pairs by QR at start' },
};
