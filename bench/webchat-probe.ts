/**
 * Web chat customers beside the REST load of `npm run bench:realistic -- --overload`: what a chat
 * channel's customer sees while the tenant is over its admission limits. Each conversation writes,
 * waits for its answer, pauses, and writes again, over a WebSocket of the hub's web chat channel;
 * every frame is kept with its time so the bench can check the busy notice (once per busy period,
 * in the conversation's language), the typing indicator of a message that waits, and that every
 * message is answered exactly once — a chat channel's message is never refused.
 */
import WebSocket from 'ws';

/** The hub's busy notice (core/channels/admission.ts BUSY_TEXT), by its opening words. */
const BUSY = { en: /^We're busier than usual right now/, zh: /^我们现在比平时忙/ } as const;

const QUESTIONS = {
  en: ['How long does standard shipping take?', 'Can I pay with WeChat?', 'How do I cancel my order?'],
  zh: ['快递几天能到', '怎么退货？', '退款多久到账'],
} as const;

export interface ProbeMessage {
  clientId: string;
  sentAt: number;
  /** performance.now() of the first answer (a reply of this message that is not a system notice). */
  answeredAt?: number;
  /** Distinct reply ids of its answer. */
  replies: string[];
  /** Typing frames (on) between sending it and its answer. */
  typing: number;
}

export interface ProbeConversation {
  language: 'en' | 'zh';
  messages: ProbeMessage[];
  /** Busy notices received: when, and whether the text was in the conversation's language. */
  notices: Array<{ at: number; inLanguage: boolean }>;
  /** Reply ids seen more than once (a delivery twice). */
  duplicates: number;
  errors: string[];
}

interface Frame {
  type: string;
  on?: boolean;
  message?: {
    id?: string;
    inReplyTo?: string;
    source?: string;
    content?: { type?: string; text?: string };
  };
  code?: string;
}

/** Runs `conversations` web chat customers until `durationMs` has passed and their last answer came (or `answerTimeoutMs`). */
export async function webchatProbe(options: {
  url: string;
  channel: string;
  conversations: number;
  durationMs: number;
  pauseMs: number;
  answerTimeoutMs: number;
}): Promise<ProbeConversation[]> {
  const socketUrl = `${options.url.replace(/^http/, 'ws')}/webchat/${options.channel}/ws`;
  const end = performance.now() + options.durationMs;
  const one = async (index: number): Promise<ProbeConversation> => {
    const language = index % 2 === 0 ? 'en' : 'zh';
    const result: ProbeConversation = { language, messages: [], notices: [], duplicates: 0, errors: [] };
    const socket = new WebSocket(socketUrl);
    const seen = new Set<string>();
    let current: ProbeMessage | undefined;
    let answered: (() => void) | undefined;
    socket.on('message', (data) => {
      const at = performance.now();
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'error') result.errors.push(`${frame.code}`);
      if (frame.type === 'typing' && frame.on && current && current.answeredAt === undefined)
        current.typing++;
      if (frame.type !== 'reply' || !frame.message) return;
      const { id = '', source, content } = frame.message;
      if (seen.has(id)) {
        result.duplicates++;
        return;
      }
      seen.add(id);
      const text = content?.text ?? '';
      if (source === 'system' && (BUSY.en.test(text) || BUSY.zh.test(text))) {
        result.notices.push({ at, inLanguage: BUSY[language].test(text) });
        return;
      }
      const to = result.messages.find((m) => frame.message?.inReplyTo?.endsWith(`:${m.clientId}`));
      if (!to) return;
      to.replies.push(id);
      if (to.answeredAt === undefined) {
        to.answeredAt = at;
        if (to === current) answered?.();
      }
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    try {
      for (let n = 0; performance.now() < end; n++) {
        const questions = QUESTIONS[language];
        const message: ProbeMessage = {
          clientId: `p${index}-m${n}`,
          sentAt: performance.now(),
          replies: [],
          typing: 0,
        };
        result.messages.push(message);
        current = message;
        const answer = new Promise<void>((resolve) => {
          answered = resolve;
        });
        socket.send(
          JSON.stringify({
            type: 'message',
            id: message.clientId,
            text: questions[n % questions.length],
            locale: language === 'zh' ? 'zh-CN' : 'en',
          }),
        );
        const timedOut = await Promise.race([
          answer.then(() => false),
          new Promise<boolean>((resolve) => setTimeout(resolve, options.answerTimeoutMs, true)),
        ]);
        if (timedOut) break;
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      }
      // Late duplicates of the last answers have a moment to show.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      socket.close();
    }
    return result;
  };
  return Promise.all(Array.from({ length: options.conversations }, (_, i) => one(i)));
}

/**
 * What must hold of the web chat customers, given how many of their messages the hub counted as
 * queued over the limits (`hub_admission_busy_total{channel,outcome="queued"}`): every message
 * answered once and none refused; one busy notice at most per conversation (the run is one busy
 * period), in its language, and at least one when any message came in over the limits; a typing
 * indicator before the answer of at least as many messages as came in over the limits.
 */
export function probeChecks(
  conversations: ProbeConversation[],
  queuedOverLimits: number,
): { problems: string[]; messages: number; notified: number; typed: number; answerP99Ms: number } {
  const problems: string[] = [];
  const messages = conversations.flatMap((c) => c.messages);
  const unanswered = messages.filter((m) => m.answeredAt === undefined).length;
  if (unanswered) problems.push(`${unanswered} web chat message(s) never answered`);
  const duplicates = conversations.reduce((n, c) => n + c.duplicates, 0);
  if (duplicates) problems.push(`${duplicates} web chat reply(ies) delivered twice`);
  const errors = conversations.flatMap((c) => c.errors);
  if (errors.length) problems.push(`web chat error frames: ${[...new Set(errors)].join(', ')}`);
  const twice = conversations.filter((c) => c.notices.length > 1).length;
  if (twice) problems.push(`${twice} web chat conversation(s) told they wait more than once`);
  const wrongLanguage = conversations.filter((c) => c.notices.some((n) => !n.inLanguage)).length;
  if (wrongLanguage) problems.push(`${wrongLanguage} busy notice(s) not in the conversation's language`);
  const notified = conversations.filter((c) => c.notices.length > 0).length;
  if (queuedOverLimits > 0 && notified === 0)
    problems.push(
      `${queuedOverLimits} web chat message(s) came in over the limits, no conversation was told`,
    );
  if (queuedOverLimits === 0 && notified > 0)
    problems.push(`${notified} conversation(s) told they wait, but no message came in over the limits`);
  if (notified > queuedOverLimits)
    problems.push(
      `${notified} conversations told, more than the ${queuedOverLimits} messages over the limits`,
    );
  const typed = messages.filter((m) => m.typing > 0).length;
  if (typed < queuedOverLimits)
    problems.push(`typing shown for ${typed} message(s), fewer than the ${queuedOverLimits} over the limits`);
  const waits = messages
    .filter((m) => m.answeredAt !== undefined)
    .map((m) => (m.answeredAt as number) - m.sentAt)
    .sort((a, b) => a - b);
  const answerP99Ms = waits[Math.min(waits.length - 1, Math.floor(0.99 * waits.length))] ?? Number.NaN;
  return { problems, messages: messages.length, notified, typed, answerP99Ms };
}
