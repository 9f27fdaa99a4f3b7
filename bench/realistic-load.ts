/**
 * The load of `npm run bench:realistic`: conversations turn by turn through the REST channel, closed
 * loop (each conversation waits for its answer) or open loop (turns offered at a fixed rate), every
 * answer checked for exactly-once and order, and each turn's model requests found in the emulator's log.
 */
import { Agent, request } from 'node:http';
import type { ServedRequest } from '../test/emulators/openai-emulator';
import type { BenchConversation } from './conversations';

export interface RestReply {
  recipient_id?: string;
  id?: string;
  text?: string;
  source?: string;
}

export interface TurnRecord {
  sender: string;
  conversation: string;
  index: number;
  text: string;
  /** The event id the REST channel gives this turn (message_id `t<index>`). */
  eventId: string;
  /** performance.now() when the request was sent, answered by HTTP, and when its replies were in hand. */
  sentAt: number;
  ackAt?: number;
  answeredAt?: number;
  status: number;
  retryAfter?: string;
  replies?: RestReply[];
  /** Why the answer is wrong (a failed check), or undefined. */
  problem?: string;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function http(
  agent: Agent,
  method: 'GET' | 'POST',
  url: URL,
  payload: string | undefined,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
        timeout: timeoutMs,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks every turn's replies against what was sent, and that no reply is ever seen twice. */
export class AnswerBook {
  private readonly seen = new Set<string>();
  duplicates = 0;

  /** Undefined when the replies are this turn's, in order, none seen before; else what is wrong. */
  check(turn: TurnRecord, replies: unknown): string | undefined {
    if (!Array.isArray(replies)) return 'body is not an array';
    if (replies.length === 0) return 'no reply';
    let n = 0;
    for (const reply of replies as RestReply[]) {
      if (reply.recipient_id !== turn.sender) return `reply for ${reply.recipient_id}, not ${turn.sender}`;
      if (typeof reply.text !== 'string' || !reply.text) return 'reply without text';
      // Reply ids are `<event id>#<n>`: this turn's, numbered in order.
      if (reply.id !== `${turn.eventId}#${n}`) return `reply id ${reply.id}, expected ${turn.eventId}#${n}`;
      if (this.seen.has(reply.id)) {
        this.duplicates++;
        return `reply ${reply.id} delivered twice`;
      }
      this.seen.add(reply.id);
      n++;
    }
    return undefined;
  }
}

export interface LoadContext {
  url: string;
  timeoutMs: number;
  prefix: string;
  pool: BenchConversation[];
  book: AnswerBook;
}

function newTurn(sender: string, conversation: BenchConversation, index: number): TurnRecord {
  return {
    sender,
    conversation: conversation.name,
    index,
    text: conversation.turns[index] ?? '',
    eventId: `rest:${sender}:t${index}`,
    sentAt: performance.now(),
    status: 0,
  };
}

/** Post one turn; a 200 is checked at once, a 202 is left for `collect`. */
async function post(agent: Agent, ctx: LoadContext, turn: TurnRecord): Promise<void> {
  const payload = JSON.stringify({ sender: turn.sender, message: turn.text, message_id: `t${turn.index}` });
  turn.sentAt = performance.now();
  try {
    const answer = await http(agent, 'POST', new URL('/webhooks/rest', ctx.url), payload, ctx.timeoutMs);
    turn.ackAt = performance.now();
    turn.status = answer.status;
    const retryAfter = answer.headers['retry-after'];
    if (retryAfter !== undefined) turn.retryAfter = String(retryAfter);
    if (answer.status === 200) settle(ctx, turn, answer.body);
    else if (answer.status !== 202 && answer.status !== 503 && answer.status !== 429)
      turn.problem = `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
  } catch (error) {
    turn.ackAt = performance.now();
    turn.problem = (error as Error).message;
  }
}

function settle(ctx: LoadContext, turn: TurnRecord, body: string): void {
  turn.answeredAt = performance.now();
  try {
    turn.replies = JSON.parse(body) as RestReply[];
    turn.problem = ctx.book.check(turn, turn.replies);
  } catch {
    turn.problem = `body is not JSON: ${body.slice(0, 200)}`;
  }
}

/** The replies of an accepted (202) turn, once stored; false while there are none yet. */
async function collect(agent: Agent, ctx: LoadContext, turn: TurnRecord): Promise<boolean> {
  const url = new URL(`/webhooks/rest/replies/${encodeURIComponent(turn.eventId)}`, ctx.url);
  try {
    const answer = await http(agent, 'GET', url, undefined, ctx.timeoutMs);
    if (answer.status !== 200 || answer.body === '[]') return false;
    settle(ctx, turn, answer.body);
    return true;
  } catch {
    return false;
  }
}

export const accepted = (turn: TurnRecord) => turn.status === 200 || turn.status === 202;

/**
 * Closed loop: `clients` conversations at a time, each turn after the last one's answer, each
 * client starting the pool's next conversation when its own ends, until the window closes.
 */
export async function closedLoop(
  ctx: LoadContext,
  clients: number,
  warmupMs: number,
  durationMs: number,
  onWindow: (edge: 'start' | 'end') => void,
): Promise<{ turns: TurnRecord[]; windowStart: number; windowEnd: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients * 2 });
  const windowStart = performance.now() + warmupMs;
  const windowEnd = windowStart + durationMs;
  const starting = setTimeout(() => onWindow('start'), warmupMs);
  const ending = setTimeout(() => onWindow('end'), warmupMs + durationMs);
  const turns: TurnRecord[] = [];
  let next = 0;
  async function client(worker: number): Promise<void> {
    for (let k = 0; performance.now() < windowEnd; k++) {
      const conversation = ctx.pool[next++ % ctx.pool.length] as BenchConversation;
      const sender = `${ctx.prefix}-w${worker}-c${k}`;
      for (let index = 0; index < conversation.turns.length && performance.now() < windowEnd; index++) {
        const turn = newTurn(sender, conversation, index);
        turns.push(turn);
        await post(agent, ctx, turn);
        // Accepted without its answer in time (202): wait for it before the conversation goes on.
        while (turn.status === 202 && turn.answeredAt === undefined && !turn.problem) {
          if (performance.now() - turn.sentAt > ctx.timeoutMs) {
            turn.problem = `no answer within ${ctx.timeoutMs} ms`;
            break;
          }
          await sleep(200);
          await collect(agent, ctx, turn);
        }
        if (turn.problem || turn.answeredAt === undefined) {
          if (!accepted(turn)) await sleep(100);
          break;
        }
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, (_, worker) => client(worker)));
  clearTimeout(starting);
  clearTimeout(ending);
  agent.destroy();
  return { turns, windowStart, windowEnd };
}

export interface OpenLoopResult {
  turns: TurnRecord[];
  windowS: number;
  /** Turns accepted but still unanswered when the drain ended. */
  unanswered: TurnRecord[];
  drainS: number;
}

/**
 * Open loop: a turn offered every 1/rate s for the duration, whatever the hub's backlog: the next
 * turn of a conversation whose last turn was answered, else a new conversation. The hub should ack
 * at once (the REST channel answers 202 after `server.replyTimeoutMs`), and its answers are
 * collected by polling, at most `pollsPerS` a second, oldest first, until none is left or `drainMs`.
 */
export async function openLoop(
  ctx: LoadContext,
  ratePerS: number,
  durationMs: number,
  drainMs: number,
  pollsPerS: number,
): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const turns: TurnRecord[] = [];
  const pending: TurnRecord[] = [];
  const idle: Array<{ sender: string; conversation: BenchConversation; index: number }> = [];
  const inFlight = new Set<Promise<void>>();
  let conversations = 0;
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const advance = (turn: TurnRecord, conversation: BenchConversation) => {
    // Refused (503/429) turns are offered again later, as a client honouring Retry-After would.
    const nextIndex = accepted(turn) ? turn.index + 1 : turn.index;
    if (nextIndex < conversation.turns.length)
      idle.push({ sender: turn.sender, conversation, index: nextIndex });
  };
  const byName = new Map(ctx.pool.map((c) => [c.name, c]));

  const start = performance.now();
  const end = start + durationMs;
  let offered = 0;
  let polling = true;
  const poller = (async () => {
    const perTick = Math.max(1, Math.round(pollsPerS / 10));
    while (polling || pending.length) {
      const due = pending.splice(0, perTick);
      const results = await Promise.all(due.map((turn) => collect(agent, ctx, turn)));
      due.forEach((turn, i) => {
        if (results[i]) advance(turn, byName.get(turn.conversation) as BenchConversation);
        else pending.push(turn);
      });
      if (!polling && performance.now() > end + drainMs) break;
      await sleep(100);
    }
  })();

  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * ratePerS) + 1;
    for (; offered < due; offered++) {
      const from = idle.shift();
      const conversation =
        from?.conversation ?? (ctx.pool[conversations % ctx.pool.length] as BenchConversation);
      const sender = from?.sender ?? `${ctx.prefix}-o${conversations++}`;
      const turn = newTurn(sender, conversation, from?.index ?? 0);
      turns.push(turn);
      track(
        post(agent, ctx, turn).then(() => {
          if (turn.status === 202) pending.push(turn);
          else if (turn.status === 200 && !turn.problem) advance(turn, conversation);
          else if (!accepted(turn)) advance(turn, conversation);
        }),
      );
    }
    await sleep(Math.max(1, 1000 / ratePerS / 2));
  }
  await Promise.all(inFlight);
  const drainStart = performance.now();
  polling = false;
  await poller;
  agent.destroy();
  return {
    turns,
    windowS: durationMs / 1000,
    unanswered: turns.filter((t) => accepted(t) && t.answeredAt === undefined),
    drainS: (performance.now() - drainStart) / 1000,
  };
}

/**
 * A closed-loop window's turns: those answered in it count toward throughput; its latency figures
 * are read from those also sent in it (`steady`). The turns sent during the warm-up include the first
 * turn of every conversation, all sent at the same instant to a hub that has just started (its
 * database pool still opening connections, its code not yet optimized) and answered after the
 * model's queue: that burst is reported apart (`sentBefore`), not mixed into the steady figures.
 */
export function windowTurns(
  turns: TurnRecord[],
  windowStart: number,
  windowEnd: number,
): { answered: TurnRecord[]; steady: TurnRecord[]; sentBefore: TurnRecord[] } {
  const answered = turns.filter(
    (t) =>
      t.answeredAt !== undefined && t.answeredAt >= windowStart && t.answeredAt < windowEnd && !t.problem,
  );
  return {
    answered,
    steady: answered.filter((t) => t.sentAt >= windowStart),
    sentBefore: answered.filter((t) => t.sentAt < windowStart),
  };
}

/** Letters and digits only, folded: what survives the hub's cleaning and the prompt's wording. */
const fold = (text: string) =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');

/** The customer's text a model request carries: the message classified, rewritten, answered or handed over. */
export function questionOf(served: ServedRequest): string | undefined {
  const text = served.lastUser;
  switch (served.kind) {
    case 'classify':
      return text;
    case 'rewrite':
      return /Customer \(last message\): (.*)$/s.exec(text)?.[1];
    case 'answer': {
      const marks = ["Customer's question: ", '顾客的问题：'];
      const at = Math.max(
        ...marks.map((m) => text.lastIndexOf(m) + (text.lastIndexOf(m) >= 0 ? m.length : 0)),
      );
      return at > 0 ? text.slice(at) : undefined;
    }
    case 'other':
      // A ticket's case summary (core/tickets/case-summary.ts): the conversation it is given ends
      // with the message that asked for the person, and the turn waits for it.
      return /\ncustomer: ([^\n]*)$/.exec(text)?.[1];
    default:
      return undefined;
  }
}

/**
 * The text as the hub may have changed it before a model saw it, for the second matching pass:
 * masked values (`<PHONE_1>`) and digits dropped, so "１３８ １２３４ ５６７８" and its masked
 * prompt both come to nothing, and "是的 我想问下能用支付宝吗" keeps what the hub asks about.
 */
const loose = (text: string) => fold(text.replace(/<[A-Z]+_\d+>/g, '').replace(/\p{N}+/gu, ''));

/** Character bigrams of a folded text (a single character is its own). */
function bigrams(text: string): string[] {
  const chars = Array.from(text);
  if (chars.length < 2) return chars;
  return chars.slice(1).map((char, i) => `${chars[i]}${char}`);
}

/**
 * How alike two texts are, 0 to 1 (Dice coefficient of their bigrams); 1 also when one contains the
 * other (a "yes, ..." or "ok, ..." the hub dropped before asking) or when both are only masked values.
 */
export function likeness(a: string, b: string): number {
  const [x, y] = [loose(a), loose(b)];
  if (x === y) return 1;
  if (!x || !y) return 0;
  if ((x.length >= 4 && y.includes(x)) || (y.length >= 4 && x.includes(y))) return 1;
  const counts = new Map<string, number>();
  for (const gram of bigrams(x)) counts.set(gram, (counts.get(gram) ?? 0) + 1);
  let shared = 0;
  const ys = bigrams(y);
  for (const gram of ys) {
    const left = counts.get(gram) ?? 0;
    if (left > 0) {
      shared++;
      counts.set(gram, left - 1);
    }
  }
  return (2 * shared) / (bigrams(x).length + ys.length);
}

/** A turn's text and a request's text this alike are taken for the same message, as the hub changed it. */
const LIKENESS = 0.6;

/**
 * Each answered turn's model requests: those carrying its text, started after it was sent and
 * ended before its answer, at most one of each kind (plus one aborted answer), each used once.
 * Turns are taken in the order they were answered, so a turn with the same text as another that
 * was in flight at the same time takes the earlier requests. A turn left with none then takes, in
 * a second pass, requests still unused in its window whose text is like its own: the hub asks the
 * model about the message as it cleaned it (a leading "yes" dropped, personal data masked, a
 * follow-up rewritten), and without that pass the whole turn would count as the hub's own time.
 */
export function attributeModelTime(
  turns: TurnRecord[],
  served: ServedRequest[],
): Map<TurnRecord, ServedRequest[]> {
  const byText = new Map<string, ServedRequest[]>();
  const questions = new Map<ServedRequest, string>();
  for (const request of served) {
    const question = questionOf(request);
    if (!question) continue;
    questions.set(request, question);
    const key = fold(question);
    const list = byText.get(key) ?? [];
    list.push(request);
    byText.set(key, list);
  }
  const used = new Set<ServedRequest>();
  const result = new Map<TurnRecord, ServedRequest[]>();
  const answered = turns
    .filter((t) => t.answeredAt !== undefined)
    .sort((a, b) => (a.answeredAt ?? 0) - (b.answeredAt ?? 0));
  const claim = (turn: TurnRecord, candidates: Iterable<ServedRequest>) => {
    const taken: ServedRequest[] = [];
    const kinds = new Set<string>();
    for (const request of candidates) {
      if (
        used.has(request) ||
        request.arrivedAt < turn.sentAt ||
        request.endedAt > (turn.answeredAt ?? 0) + 5
      )
        continue;
      const kind = `${request.kind}${request.aborted ? '-aborted' : ''}`;
      if (kinds.has(kind)) continue;
      kinds.add(kind);
      used.add(request);
      taken.push(request);
    }
    return taken;
  };
  for (const turn of answered) result.set(turn, claim(turn, byText.get(fold(turn.text)) ?? []));
  const inOrder = [...questions.keys()].sort((a, b) => a.arrivedAt - b.arrivedAt);
  for (const turn of answered) {
    if (result.get(turn)?.length) continue;
    const alike = inOrder.filter(
      (request) =>
        !used.has(request) &&
        request.arrivedAt >= turn.sentAt &&
        request.endedAt <= (turn.answeredAt ?? 0) + 5 &&
        likeness(turn.text, questions.get(request) as string) >= LIKENESS,
    );
    result.set(turn, claim(turn, alike));
  }
  return result;
}

/** Wall time covered by the requests (overlapping ones counted once): what the turn waited on the model. */
export function modelWallMs(requests: ServedRequest[]): number {
  const spans = requests.map((r) => [r.arrivedAt, r.endedAt] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = [Number.NaN, Number.NaN];
  for (const [start, end] of spans) {
    if (Number.isNaN(from) || start > to) {
      if (!Number.isNaN(from)) total += to - from;
      [from, to] = [start, end];
    } else to = Math.max(to, end);
  }
  if (!Number.isNaN(from)) total += to - from;
  return total;
}
