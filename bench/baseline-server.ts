/**
 * The baseline the hub is measured against: a bare node:http server doing, per message, the least
 * the hub's path must do. It parses the JSON body, puts the message into Redis on one connection
 * (LPUSH), takes it out on another (BRPOP), optionally asks the same LLM emulator for an answer, and
 * replies with the REST channel's JSON array. Run as its own process: `node --import tsx bench/baseline-server.ts`.
 *
 * Env: REDIS_URL, BENCH_BASELINE_KEY (the list), BENCH_LLM_URL (base URL with /v1; empty: no LLM call).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

interface Job {
  id: string;
  sender: string;
  message: string;
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = process.env.BENCH_BASELINE_KEY ?? `bench:baseline:${randomUUID()}`;
const llmUrl = process.env.BENCH_LLM_URL || undefined;

// The same shape of prompt the hub sends: a system text with numbered passages, then the question.
const SYSTEM_PROMPT = [
  "You are the shop's customer-service assistant. Answer the customer's question only from the numbered passages below, and cite the passages you use by their numbers in square brackets, such as [1] or [2]. If the passages do not contain the answer, say that you don't know and offer to connect the customer with a human agent; never guess or invent details. Reply in the customer's language, briefly and politely.",
  '',
  'Passages:',
  '',
  '[1] Delivery times (source: en/shipping.md)',
  'Standard shipping within mainland China takes 2-4 business days after dispatch; remote regions such as Tibet, Xinjiang and Qinghai take 5-7 business days. Express delivery arrives the next business day in most cities. Orders placed before 3 pm on a business day are dispatched the same day; later orders leave the next business day. During public holidays couriers may need one or two extra days.',
  '',
  '[2] Returns (source: en/returns.md)',
  'You can return most items within 7 days of delivery without giving a reason, as long as they are unused, complete and in their original packaging. Start the return from the order page, choose a reason, print the label or book a courier pickup, and send the item back within 3 days of the request. Underwear, opened earphones, personalised items and gift cards cannot be returned.',
  '',
  '[3] Refund timeline (source: en/refunds.md)',
  'Refunds go back to the original payment method within 1-3 business days after the returned item has been received and checked. Bank cards may take up to 7 more business days to show the money, depending on the bank. WeChat Pay and Alipay refunds usually arrive within minutes once issued.',
  '',
  '[4] Invoices (source: en/invoices.md)',
  'Electronic invoices (fapiao) can be requested from the order page after the order has shipped. Personal invoices need only a name; company invoices need the company name and its tax number. A wrong invoice can be reissued once within 30 days.',
].join('\n');

const producer = new Redis(redisUrl, { lazyConnect: true });
const consumer = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
const waiting = new Map<string, (job: Job) => void>();
let running = true;

async function answer(job: Job): Promise<string> {
  if (!llmUrl) return `Echo: ${job.message}`;
  const response = await fetch(`${llmUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer EMPTY' },
    body: JSON.stringify({
      model: 'Qwen/Qwen3-14B',
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: `Customer's question: ${job.message}` },
      ],
      max_tokens: 512,
      temperature: 0.3,
      chat_template_kwargs: { enable_thinking: false },
    }),
  });
  if (!response.ok) throw new Error(`LLM answered ${response.status}`);
  const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return completion.choices[0]?.message.content ?? '';
}

/** One consumer connection; each message taken is handled without waiting for the previous one. */
async function consumeLoop(): Promise<void> {
  while (running) {
    const popped = await consumer.brpop(key, 1).catch(() => null);
    if (!popped) continue;
    const job = JSON.parse(popped[1]) as Job;
    waiting.get(job.id)?.(job);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/webhooks/rest') return send(res, 404, { error: 'not found' });
  let body: { sender?: unknown; message?: unknown; message_id?: unknown };
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return send(res, 400, { error: 'invalid JSON' });
  }
  if (typeof body.sender !== 'string' || typeof body.message !== 'string') {
    return send(res, 400, { error: 'expected {sender, message}' });
  }
  const id = typeof body.message_id === 'string' ? body.message_id : randomUUID();
  const job: Job = { id: `rest:${body.sender}:${id}`, sender: body.sender, message: body.message };
  const taken = new Promise<Job>((resolve) => waiting.set(job.id, resolve));
  await producer.lpush(key, JSON.stringify(job));
  const received = await taken;
  waiting.delete(job.id);
  const text = await answer(received);
  send(res, 200, [
    {
      recipient_id: received.sender,
      id: `${received.id}#0`,
      text,
      citations: [],
      locale: 'en',
      source: 'llm',
    },
  ]);
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    if (!res.headersSent) send(res, 500, { error: String(error) });
    else res.destroy();
  });
});

await producer.connect();
await consumer.connect();
const loop = consumeLoop();
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`Baseline listening on http://127.0.0.1:${port} (llm: ${llmUrl ? 'on' : 'off'})`);
});

const stop = async () => {
  running = false;
  server.closeAllConnections();
  server.close();
  await loop;
  await producer.del(key);
  producer.disconnect();
  consumer.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
