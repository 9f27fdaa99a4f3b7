import pg from 'pg';

/**
 * The measuring side of the infrastructure fault test: a steady REST load that retries a refused
 * message as a platform does, a readiness prober, a /metrics reader, and the per-fault figures.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SentMessage {
  conversation: number;
  eventId: string;
  acceptedAt: number;
}

/**
 * `conversations` customers, each sending its next message once the previous one was accepted
 * (2xx) and `pauseMs` passed: the order of a conversation's messages is the order of acceptance.
 * A refused or failed POST is sent again with the same message id, so a publish that did happen is
 * dropped as a duplicate and never doubles a message.
 */
export class SteadyLoad {
  readonly sent: SentMessage[] = [];
  /** POSTs answered with anything but 2xx, or not answered at all, with when. */
  readonly refusals: number[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly conversations: number,
    private readonly questions: string[],
    private readonly pauseMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.conversations }, (_, c) => this.loop(c));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(conversation: number): Promise<void> {
    // Spread the customers over the pause so the load is steady rather than in bursts.
    await sleep((this.pauseMs * conversation) / this.conversations);
    for (let index = 0; this.running; index++) {
      await this.post(conversation, index);
      await sleep(this.pauseMs);
    }
  }

  private async post(conversation: number, index: number): Promise<void> {
    const sender = `customer-${conversation}`;
    const messageId = `m${index}`;
    const body = JSON.stringify({
      sender,
      message: this.questions[(conversation + index) % this.questions.length],
      message_id: messageId,
    });
    for (;;) {
      const response = await fetch(`${this.url}/webhooks/rest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(30_000),
      }).catch(() => undefined);
      await response?.arrayBuffer().catch(() => undefined);
      if (response?.ok) break;
      this.refusals.push(Date.now());
      await sleep(250);
    }
    this.sent.push({ conversation, eventId: `rest:${sender}:${messageId}`, acceptedAt: Date.now() });
  }
}

export interface Probe {
  target: string;
  at: number;
  ms: number;
  /** HTTP status, or 0 when no answer came within the prober's own limit. */
  status: number;
  checks: Record<string, string>;
}

/** GET <url>/readyz every `everyMs`, one at a time, recording how long each answer took. */
export class ReadinessProber {
  readonly probes: Probe[] = [];
  private readonly stopped = new Set<string>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    targets: Record<string, string>,
    private readonly everyMs: number,
    private readonly giveUpMs: number,
  ) {
    this.loops = Object.entries(targets).map(([name, url]) => this.loop(name, url));
  }

  /** Stop probing one target (a process the test killed on purpose). */
  forget(target: string): void {
    this.stopped.add(target);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  within(from: number, to: number): Probe[] {
    return this.probes.filter((probe) => probe.at >= from && probe.at <= to);
  }

  private async loop(target: string, url: string): Promise<void> {
    while (this.running && !this.stopped.has(target)) {
      const at = Date.now();
      let status = 0;
      let checks: Record<string, string> = {};
      try {
        const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(this.giveUpMs) });
        status = response.status;
        checks = ((await response.json()) as { checks: Record<string, string> }).checks;
      } catch {
        status = 0;
      }
      if (this.stopped.has(target)) return;
      this.probes.push({ target, at, ms: Date.now() - at, status, checks });
      await sleep(Math.max(0, this.everyMs - (Date.now() - at)));
    }
  }
}

export interface MetricsSample {
  /** hub_connection_errors_total summed by component. */
  connectionErrors: Record<string, number>;
  /** hub_readiness_up by check. */
  readiness: Record<string, number>;
}

export async function scrapeMetrics(url: string): Promise<MetricsSample> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const sample: MetricsSample = { connectionErrors: {}, readiness: {} };
  for (const line of text.split('\n')) {
    const errors = /^hub_connection_errors_total\{component="([^"]+)",code="[^"]*"\} (\d+)/.exec(line);
    if (errors?.[1]) {
      sample.connectionErrors[errors[1]] = (sample.connectionErrors[errors[1]] ?? 0) + Number(errors[2]);
    }
    const ready = /^hub_readiness_up\{check="([^"]+)"\} (\d+)/.exec(line);
    if (ready?.[1]) sample.readiness[ready[1]] = Number(ready[2]);
  }
  return sample;
}

export interface Reply {
  count: number;
  seq: number;
  at: number;
}

/** Every reply in the database by the event it answers: how many, the first one's position and time. */
export async function readReplies(databaseUrl: string): Promise<Map<string, Reply>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ in_reply_to: string; n: string; seq: string; at: string }>(
      `select in_reply_to, count(*) as n, min(seq) as seq, extract(epoch from min(recorded_at)) * 1000 as at
         from messages where direction = 'out' and in_reply_to is not null group by in_reply_to`,
    );
    return new Map(
      rows.map((row) => [
        row.in_reply_to,
        { count: Number(row.n), seq: Number(row.seq), at: Number(row.at) },
      ]),
    );
  } finally {
    await client.end();
  }
}

export interface FaultFigures {
  fault: string;
  sent: number;
  answered: number;
  lost: number;
  doubled: number;
  outOfOrder: number;
  deadLetters: number;
  refusedPosts: number;
  longestReplyGapMs: number;
  recoveryMs: number;
  slowestReadyzMs: number;
}

export interface Phase {
  fault: string;
  /** Messages accepted from `start` (inclusive) to `end` (exclusive) belong to this fault. */
  start: number;
  end: number;
  /** When the dependency was back (or the worker killed): recovery is measured from here. */
  faultEndedAt: number;
}

/**
 * The figures of one fault: messages accepted in its window, whether each was answered once and in
 * its conversation's order, the longest stretch without any reply in the window, and how long after
 * the fault ended every message accepted before that moment had its answer.
 */
export function faultFigures(
  phase: Phase,
  load: SteadyLoad,
  replies: Map<string, Reply>,
  deadLetters: number,
  slowestReadyzMs: number,
): FaultFigures {
  const mine = load.sent.filter((m) => m.acceptedAt >= phase.start && m.acceptedAt < phase.end);
  const answered = mine.filter((m) => replies.has(m.eventId));
  let outOfOrder = 0;
  for (const message of mine) {
    const reply = replies.get(message.eventId);
    if (!reply) continue;
    const earlier = load.sent.filter(
      (m) => m.conversation === message.conversation && m.acceptedAt < message.acceptedAt,
    );
    if (earlier.some((m) => (replies.get(m.eventId)?.seq ?? -1) > reply.seq)) outOfOrder++;
  }
  const times = [...replies.values()]
    .map((reply) => reply.at)
    .filter((at) => at >= phase.start && at <= phase.end)
    .sort((a, b) => a - b);
  let longestReplyGapMs = 0;
  let previous = phase.start;
  for (const at of [...times, phase.end]) {
    longestReplyGapMs = Math.max(longestReplyGapMs, at - previous);
    previous = at;
  }
  const beforeEnd = mine.filter((m) => m.acceptedAt < phase.faultEndedAt);
  const lastAnswer = Math.max(phase.faultEndedAt, ...beforeEnd.map((m) => replies.get(m.eventId)?.at ?? 0));
  return {
    fault: phase.fault,
    sent: mine.length,
    answered: answered.length,
    lost: mine.length - answered.length,
    doubled: answered.filter((m) => (replies.get(m.eventId)?.count ?? 0) > 1).length,
    outOfOrder,
    deadLetters,
    refusedPosts: load.refusals.filter((at) => at >= phase.start && at < phase.end).length,
    longestReplyGapMs: Math.round(longestReplyGapMs),
    recoveryMs: Math.round(lastAnswer - phase.faultEndedAt),
    slowestReadyzMs,
  };
}

/** Wait until every message accepted before `until` has a reply (or the deadline passes). */
export async function waitForAnswers(
  databaseUrl: string,
  load: SteadyLoad,
  until: number,
  timeoutMs: number,
): Promise<Map<string, Reply>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const replies = await readReplies(databaseUrl).catch(() => undefined);
    if (replies && load.sent.filter((m) => m.acceptedAt < until).every((m) => replies.has(m.eventId))) {
      return replies;
    }
    if (Date.now() > deadline) return replies ?? new Map();
    await sleep(500);
  }
}

export function figuresTable(rows: FaultFigures[]): string {
  const header =
    '| fault | sent | answered | lost | doubled | out of order | dead letters | refused POSTs | longest reply gap | recovery | slowest /readyz |';
  const rule = `|${'---|'.repeat(11)}`;
  const lines = rows.map(
    (r) =>
      `| ${r.fault} | ${r.sent} | ${r.answered} | ${r.lost} | ${r.doubled} | ${r.outOfOrder} | ${r.deadLetters} | ${r.refusedPosts} | ${(r.longestReplyGapMs / 1000).toFixed(1)} s | ${(r.recoveryMs / 1000).toFixed(1)} s | ${r.slowestReadyzMs} ms |`,
  );
  return [header, rule, ...lines].join('\n');
}
