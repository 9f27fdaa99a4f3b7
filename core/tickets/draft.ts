import {
  type ConversationRef,
  conversationKey,
  ORDER_ID_PATTERN,
  type TicketDraft,
  type TicketPriority,
  type TicketTranscriptLine,
} from '../types';

const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const PHONE = /\+?\d[\d ()-]{6,}\d/g;

/** Order ids, e-mail addresses and phone numbers mentioned by the customer, deduplicated. */
export function extractEntities(texts: string[]): Record<string, string[]> {
  const found: Record<string, Set<string>> = { order_id: new Set(), email: new Set(), phone: new Set() };
  const orderIds = new RegExp(ORDER_ID_PATTERN.source, 'g');
  for (const text of texts) {
    for (const m of text.matchAll(orderIds)) found.order_id?.add(m[0]);
    for (const m of text.matchAll(EMAIL)) found.email?.add(m[0].toLowerCase());
    const withoutOrderIds = text.replace(orderIds, ' ');
    for (const m of withoutOrderIds.matchAll(PHONE)) found.phone?.add(m[0].replace(/[^\d+]/g, ''));
  }
  return Object.fromEntries(
    Object.entries(found)
      .filter(([, values]) => values.size > 0)
      .map(([kind, values]) => [kind, [...values]]),
  );
}

/** Priority by rule: urgency words first, then complaints and money. */
export function priorityOf(texts: string[]): TicketPriority {
  const all = texts.join('\n');
  if (/\b(urgent|asap|emergency|immediately)\b|紧急|马上|立刻/i.test(all)) return 'urgent';
  if (/\b(complain|complaint|refund|charged twice|fraud|broken)\b|投诉|退款|扣款|诈骗|坏了/i.test(all))
    return 'high';
  return 'normal';
}

export function categoryOf(texts: string[], entities: Record<string, string[]>): string {
  const all = texts.join('\n');
  if (/\b(refund|return)\b|退款|退货/i.test(all)) return 'returns';
  if (entities.order_id?.length || /\b(order|delivery|shipping|parcel)\b|订单|物流|快递|发货/i.test(all))
    return 'orders';
  if (/\b(invoice|payment|charge|bill)\b|发票|付款|支付/i.test(all)) return 'billing';
  return 'general';
}

export interface DraftInput {
  ref: ConversationRef;
  customer: TicketDraft['customer'];
  transcript: TicketTranscriptLine[];
  intent?: string;
  slots: Record<string, unknown>;
  locale?: string;
  reason: TicketReason;
  publicUrl?: string;
}

/** Why the bot opens a ticket: the customer's request, a failure it cannot get past, or a flow (complaint, return). */
export type TicketReason =
  | 'customer_request'
  | 'erp_failure'
  | 'anger'
  | 'repeated_failure'
  | 'low_confidence'
  | 'unanswered'
  | 'complaint'
  | 'return'
  | 'exchange';

const WHY: Record<TicketReason, string> = {
  customer_request: 'The customer asked to talk to a person.',
  erp_failure: 'The order system did not answer while the customer asked about an order.',
  anger: 'The customer is upset; the bot handed the conversation over.',
  repeated_failure: 'The bot failed to help several times in a row.',
  low_confidence: 'The bot could not tell what the customer wants.',
  unanswered: 'The knowledge base had no answer to the question.',
  complaint: 'The customer filed a complaint.',
  return: 'The customer asked to return an item.',
  exchange: 'The customer asked to exchange an item.',
};

/** A ticket an agent can act on from the conversation alone: subject, summary, facts, rules-based triage. */
export function buildTicketDraft(input: DraftInput): TicketDraft {
  const customerTexts = input.transcript.filter((l) => l.role === 'customer').map((l) => l.text);
  const entities = extractEntities(customerTexts);
  const priority = priorityOf(customerTexts);
  const category = categoryOf(customerTexts, entities);
  const topic = lastSubstantive(customerTexts);
  const key = conversationKey(input.ref);
  const why = WHY[input.reason];
  const orders = entities.order_id?.length ? ` Orders mentioned: ${entities.order_id.join(', ')}.` : '';
  return {
    subject: `[${input.ref.channel}] ${topic ? truncate(topic, 80) : 'Customer asked for an agent'}`,
    summary: `${why}${topic ? ` Last question: "${truncate(topic, 300)}".` : ''}${orders} Category ${category}, priority ${priority}.`,
    transcript: input.transcript,
    intent: input.intent,
    slots: input.slots,
    entities,
    customer: input.customer,
    conversation: input.ref,
    conversationKey: key,
    conversationUrl: input.publicUrl
      ? `${input.publicUrl.replace(/\/+$/, '')}/conversations/${encodeURIComponent(key)}`
      : undefined,
    priority,
    category,
    tags: [
      'hub',
      input.reason === 'erp_failure' ||
      input.reason === 'complaint' ||
      input.reason === 'return' ||
      input.reason === 'exchange'
        ? input.reason
        : 'handoff',
      `channel:${input.ref.channel}`,
      `category:${category}`,
      ...(input.locale ? [`lang:${input.locale}`] : []),
    ],
    locale: input.locale,
  };
}

/** The customer's last message that is more than a request for a human. */
function lastSubstantive(texts: string[]): string | undefined {
  const handoffOnly =
    /^\W*(i\s+)?(want|need|talk to|speak to|connect me to|get me)?\s*(a|an|to a)?\s*(human|agent|person|real person|representative|operator)\W*$|^\W*(转)?人工(客服)?\W*$/i;
  for (let i = texts.length - 1; i >= 0; i -= 1) {
    const text = texts[i]?.trim();
    if (text && !handoffOnly.test(text)) return text;
  }
  return texts.at(-1)?.trim() || undefined;
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
