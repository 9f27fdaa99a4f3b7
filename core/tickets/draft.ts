import { defaultPiiMasker, type PiiMasker, PLACEHOLDER } from '../privacy/mask';
import {
  type ConversationRef,
  conversationKey,
  ORDER_ID_PATTERN,
  type TicketDraft,
  type TicketPriority,
} from '../types';
import { type CaseFacts, type CaseLine, summarizeByRules } from './case-summary';

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
  /** Lines may carry how each bot reply was made (case-summary.ts); the draft keeps role, text and time. */
  transcript: CaseLine[];
  intent?: string;
  slots: Record<string, unknown>;
  locale?: string;
  reason: TicketReason;
  publicUrl?: string;
  /** Flows the bot was in the middle of (the dialog's flow stack), for the case summary. */
  flows?: Array<{ flow: string; step: string }>;
  /** The case summary the model wrote (core/tickets/case-summary.ts); absent: the rules write it. */
  caseSummary?: string;
  /** `privacy.pii`: the subject never carries personal data, whatever `ticketing.pii` says. */
  masker?: PiiMasker;
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

/** What the case summary is written from (by the model or the rules), read from the draft's input. */
export function caseFactsOf(input: DraftInput): CaseFacts {
  const masker = input.masker ?? defaultPiiMasker;
  const customerTexts = input.transcript.filter((l) => l.role === 'customer').map((l) => l.text);
  const { 'ticket.reference': _ticket, ...slots } = input.slots;
  return {
    question: customerQuestion(customerTexts, masker, input.ref.tenant),
    why: WHY[input.reason],
    intent: input.intent,
    slots,
    entities: extractEntities(customerTexts),
    transcript: input.transcript,
    ...(input.flows?.length ? { flows: input.flows } : {}),
    language: input.locale?.toLowerCase().startsWith('zh') ? 'zh' : 'en',
  };
}

/**
 * A ticket an agent can act on from the conversation alone: the subject is the customer's question
 * that led to the handoff, the summary the bot's case summary, then facts and rules-based triage.
 */
export function buildTicketDraft(input: DraftInput): TicketDraft {
  const facts = caseFactsOf(input);
  const customerTexts = input.transcript.filter((l) => l.role === 'customer').map((l) => l.text);
  const { entities, question } = facts;
  const priority = priorityOf(customerTexts);
  const category = categoryOf(customerTexts, entities);
  const key = conversationKey(input.ref);
  const caseSummary = input.caseSummary?.trim() || summarizeByRules(facts);
  const triage =
    facts.language === 'zh'
      ? `类别 ${category}，优先级 ${priority}。`
      : `Category ${category}, priority ${priority}.`;
  const fallbackSubject = facts.language === 'zh' ? '客户要求转人工' : 'Customer asked for an agent';
  return {
    subject: `[${input.ref.channel}] ${question ? truncate(question, 80) : fallbackSubject}`,
    summary: `${caseSummary}\n${triage}`,
    transcript: input.transcript.map(({ role, text, at }) => ({ role, text, at })),
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

const HANDOFF_ONLY =
  /^\W*(i\s+)?(want|need|talk to|speak to|connect me to|get me)?\s*(to\s+)?(talk to|speak to|speak with|talk with)?\s*(a|an|to a)?\s*(human|agent|person|real person|representative|operator)(\s+please)?\W*$|^\W*(我要|我想|请)?(转|找)?人工(客服|服务)?(吧|谢谢)?\W*$/iu;
/** A greeting at the start of a message ("Hi, ...", "您好，..."): not part of the question. */
const GREETING =
  /^(?:(?:hi there|hello there|hiya|hi|hello|hey|good\s+(?:morning|afternoon|evening)|greetings|你好|您好|哈喽|嗨|在吗|在不在)(?!\p{Script=Latin})[\s,，.。!！~～?？:：]*)+/iu;
/** Words that say nothing of the case: acknowledgements, and what frames an identifier ("my e-mail is"). */
const FILLER = new Set(
  "ok okay yes no yeah yep nope sure thanks thank you thx please pls hi hello hey my is it its it's this that here the a an and or of for to me i am email e mail phone number tel mobile order id no nr code help".split(
    ' ',
  ),
);
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/gu;
/** Chinese words of the same kind; what remains of a message after these must still say something. */
const CJK_FILLER =
  /我的|我|是|的|邮箱|电子邮件|邮件|电话|手机号?|号码|订单号?|单号|编号|号|好的|好|谢谢|对|嗯|可以|不是|没有|在吗|你好|您好|请|帮我|一下|吧|呢|啊/gu;

/**
 * The customer's question that led to the handoff: the first message of the conversation that
 * asks something. A greeting, a request for a person, an acknowledgement, or a message that is
 * only an e-mail address, a phone number or an order id is skipped; a greeting before a question
 * is cut off. Personal data in it becomes placeholders (`<EMAIL_1>`), so the subject never shows it.
 */
export function customerQuestion(
  texts: string[],
  masker: PiiMasker = defaultPiiMasker,
  tenant?: string,
): string | undefined {
  for (const text of texts) {
    const trimmed = text.trim();
    if (!trimmed || HANDOFF_ONLY.test(trimmed)) continue;
    const question = trimmed.replace(GREETING, '').trim();
    if (!question || HANDOFF_ONLY.test(question)) continue;
    const masked = masker.mask(question, tenant);
    if (saysSomething(masked)) return masked.replace(/\s+/g, ' ');
  }
  return undefined;
}

/** True when, without placeholders, identifiers, digits and filler words, words are left. */
function saysSomething(masked: string): boolean {
  const bare = masked
    .replace(PLACEHOLDER, ' ')
    .replace(new RegExp(ORDER_ID_PATTERN.source, 'g'), ' ')
    .replace(EMAIL, ' ')
    .replace(/[\p{N}]+/gu, ' ');
  const cjk = (bare.replace(CJK_FILLER, ' ').match(CJK) ?? []).length;
  if (cjk >= 2) return true;
  const words = (bare.toLowerCase().match(/\p{Script=Latin}+(?:'\p{Script=Latin}+)?/gu) ?? []).filter(
    (word) => !FILLER.has(word),
  );
  return words.join('').length >= 4;
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
