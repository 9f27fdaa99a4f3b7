import { Agent, request } from 'node:http';

export interface LoadOptions {
  /** Base URL of the target; requests go to `${url}/webhooks/rest`. */
  url: string;
  /** Virtual clients, each its own sender (conversation), each waiting for its answer before asking again. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** A request that takes longer is aborted and counted as an error. */
  timeoutMs: number;
  /** Sender ids are `${senderPrefix}-${client}`. */
  senderPrefix: string;
  messages: readonly string[];
  /** Called once when warm-up ends and the measured window opens. */
  atWindowStart?: () => void;
  /** Undefined when the answer is correct, else why not. */
  check: (status: number, body: string, sender: string) => string | undefined;
}

export interface LoadResult {
  /** Requests completed inside the measured window (after warm-up). */
  measured: number;
  /** Seconds of the measured window. */
  windowS: number;
  /** Latency of each measured request, ms, sorted ascending. */
  latenciesMs: number[];
  /** Every request sent, warm-up included. */
  sent: number;
  /** Requests that ended after warm-up, the ones still in flight when the window closed included. */
  endedAfterWarmup: number;
  /** Failed or incorrect answers, warm-up included. */
  errors: number;
  errorSamples: string[];
}

interface Answer {
  status: number;
  body: string;
}

function post(agent: Agent, url: URL, payload: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          // A REST channel that wants keys (auth: api-key) refuses the load without one.
          ...(process.env.HUB_API_KEY ? { authorization: `Bearer ${process.env.HUB_API_KEY}` } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Closed-loop load: `concurrency` clients ask one after the other for warm-up + duration, then stop
 * asking and wait for what is in flight. Throughput and latency count the requests that complete in
 * the window after warm-up; errors count everything.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL('/webhooks/rest', options.url);
  const start = process.hrtime.bigint();
  const windowStart = start + BigInt(options.warmupMs) * 1_000_000n;
  const windowEnd = windowStart + BigInt(options.durationMs) * 1_000_000n;
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  let sent = 0;
  let errors = 0;
  let endedAfterWarmup = 0;

  const fail = (reason: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(reason);
  };

  const opening = setTimeout(() => options.atWindowStart?.(), options.warmupMs);

  async function client(index: number): Promise<void> {
    const sender = `${options.senderPrefix}-${index}`;
    for (let turn = 0; process.hrtime.bigint() < windowEnd; turn++) {
      const message = options.messages[(index + turn) % options.messages.length] ?? 'hello';
      const payload = JSON.stringify({ sender, message, message_id: `m${turn}` });
      const begin = process.hrtime.bigint();
      sent++;
      let answer: Answer;
      try {
        answer = await post(agent, target, payload, options.timeoutMs);
      } catch (error) {
        if (process.hrtime.bigint() >= windowStart) endedAfterWarmup++;
        fail(`${sender} turn ${turn}: ${(error as Error).message}`);
        // A target that is down fails at once: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const end = process.hrtime.bigint();
      if (end >= windowStart) endedAfterWarmup++;
      const problem = options.check(answer.status, answer.body, sender);
      if (problem) {
        fail(`${sender} turn ${turn}: ${problem}`);
        continue;
      }
      if (end >= windowStart && end < windowEnd) latenciesMs.push(Number(end - begin) / 1e6);
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => client(index)));
  clearTimeout(opening);
  agent.destroy();
  latenciesMs.sort((a, b) => a - b);
  return {
    measured: latenciesMs.length,
    windowS: options.durationMs / 1000,
    latenciesMs,
    sent,
    endedAfterWarmup,
    errors,
    errorSamples,
  };
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Answers as the REST channel gives them: HTTP 200 and exactly one reply with text, for this sender. */
export function checkRestReply(requireSource?: string) {
  return (status: number, body: string, sender: string): string | undefined => {
    if (status !== 200) return `HTTP ${status}: ${body.slice(0, 200)}`;
    let replies: unknown;
    try {
      replies = JSON.parse(body);
    } catch {
      return `body is not JSON: ${body.slice(0, 200)}`;
    }
    if (!Array.isArray(replies)) return `body is not an array: ${body.slice(0, 200)}`;
    if (replies.length !== 1) return `${replies.length} replies instead of 1`;
    const reply = replies[0] as { text?: unknown; recipient_id?: unknown; source?: unknown };
    if (typeof reply.text !== 'string' || reply.text.length === 0) return 'reply without text';
    if (reply.recipient_id !== sender) return `reply for ${String(reply.recipient_id)}, not ${sender}`;
    if (requireSource && reply.source !== requireSource) {
      return `reply source "${String(reply.source)}", expected "${requireSource}"`;
    }
    return undefined;
  };
}

/** Customer questions, English and Chinese, that the shipped knowledge base and flows answer. */
export const BENCH_MESSAGES = [
  'How long does standard shipping take?',
  '怎么退货？',
  'When will I get my money back?',
  '可以开发票吗？',
  'Can I pay with WeChat?',
  '快递几天能到',
  'How do I cancel my order?',
  '退款多久到账',
  'How long is the warranty on electronics?',
  'I forgot my password',
];
