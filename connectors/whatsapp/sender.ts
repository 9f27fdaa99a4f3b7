import type { Logger } from '../../core/log';
import type { PlatformSender, RateRule } from '../../core/outbound/types';
import type { OutboundMessage } from '../../core/types';
import { type GraphClient, toDeliveryError } from './graph';
import { whatsappOutsideWindow } from './metrics';
import { renderWhatsApp, templateCall, type WhatsAppCall } from './render';
import type { ServiceWindowStore } from './window';

export interface WhatsAppSenderOptions {
  channel: string;
  phoneNumberId: string;
  client: GraphClient;
  template?: { name: string; language: string };
  window: ServiceWindowStore;
  logger: Logger;
}

export const phoneKey = (channel: string, phoneNumberId: string) =>
  `whatsapp:${channel}:phone:${phoneNumberId}`;
export const pairKey = (channel: string, customer: string) => `whatsapp:${channel}:pair:${customer}`;

/**
 * Cloud API limits: 80 messages per second per business number; about one message per six seconds
 * to one customer (600 an hour, short bursts tolerated), kept here as 10 a minute.
 */
export function whatsappRules(
  channel: string,
  phoneNumberId: string,
  customer: string,
  call: WhatsAppCall,
): RateRule[] {
  const rules: RateRule[] = [{ key: phoneKey(channel, phoneNumberId), limit: 80, windowMs: 1000 }];
  if (call.kind !== 'typing') rules.push({ key: pairKey(channel, customer), limit: 10, windowMs: 60_000 });
  return rules;
}

/**
 * Posts through the Graph API; needs only the channel config, so worker-only processes deliver.
 * `render` produces free-form calls; `forTemplate` is the variant used once the window has closed.
 */
export function createWhatsAppSender(options: WhatsAppSenderOptions): {
  freeForm: PlatformSender<WhatsAppCall>;
  template: PlatformSender<WhatsAppCall>;
} {
  const { channel, phoneNumberId, client } = options;

  async function post(message: OutboundMessage, call: WhatsAppCall): Promise<string | undefined> {
    const customer = message.ref.conversation;
    const scopes = { phone: phoneKey(channel, phoneNumberId), pair: pairKey(channel, customer) };
    try {
      return await client.postMessage(call.payload);
    } catch (error) {
      const failure = toDeliveryError(error, scopes);
      // The window closed between our check and the call (or we never saw the customer's message).
      if (failure.code === 'whatsapp.window_closed' && call.kind === 'message' && options.template) {
        const { window } = options;
        await window.forget(customer);
        if (await window.claimTemplate(customer)) {
          options.logger.info(
            { messageId: message.id },
            'whatsapp window closed (131047): sending the template',
          );
          try {
            const id = await client.postMessage(templateCall(customer, options.template).payload);
            whatsappOutsideWindow.inc({ channel, outcome: 'template_sent' });
            return id;
          } catch (second) {
            await window.releaseTemplate(customer);
            throw toDeliveryError(second, scopes);
          }
        }
      }
      throw failure;
    }
  }

  const base = {
    channel,
    rules: (message: OutboundMessage, call: WhatsAppCall) =>
      whatsappRules(channel, phoneNumberId, message.ref.conversation, call),
    send: post,
  };
  const template = options.template;
  return {
    freeForm: { ...base, render: renderWhatsApp },
    template: {
      ...base,
      render: (message) =>
        template && message.content.type !== 'typing'
          ? [templateCall(message.ref.conversation, template)]
          : [],
    },
  };
}
