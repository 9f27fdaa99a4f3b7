/**
 * `npm run bench:pii`: what masking personal data costs per model call. A turn here is what the
 * answer sends the model: a system prompt with three knowledge passages, eight messages of history
 * and the customer's question (about 2–4 KB), masked through one vault (core/llm/masking.ts does
 * exactly this), then a reply that echoes placeholders restored. Half the turns carry personal data
 * (card with CVV, IBAN, CN and international phones, e-mail, resident id, passport, address), half
 * none. Prints µs per turn p50/p99/mean for each, µs per single message, and the ratio to counting
 * the same prompt's Qwen3 tokens (`countMessageTokens`, as the context window does) and to
 * serializing the request body, which every call already does.
 *
 * Options: --turns 2000 (measured per kind, after 200 warm-up turns)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countMessageTokens, warmTokenizer } from '../core/llm/tokenizer';
import { PiiMasker } from '../core/privacy/mask';
import type { ChatMessage } from '../core/types/llm';
import { BENCH_MESSAGES, percentile } from './load';

const { values: args } = parseArgs({ options: { turns: { type: 'string', default: '2000' } } });
const turns = Number(args.turns);

const PII_MESSAGES = [
  'My card 4111 1111 1111 1111 CVV 987 was charged twice, when do I get a refund?',
  '退款能打到我的银行账户吗？IBAN GB82 WEST 1234 5698 7654 32',
  '我的手机 138-0013-8000，邮箱 li.na@example.cn，订单 CN20261101 到哪了？',
  'Call me on +44 20 7946 0958 or +1 415 555 2671 about order XX12345678',
  '身份证 11010519491231002X 护照 E12345678，能开发票吗？',
  '请寄到上海市长宁区延安西路1234号5楼，电话13800138000',
  'mail alex.wong@example.com the invoice for 5500-0000-0000-0004, 安全码 123',
];

function passages(): string[] {
  const root = join(import.meta.dirname, '..', 'knowledge');
  const texts: string[] = [];
  for (const lang of ['en', 'zh']) {
    for (const file of readdirSync(join(root, lang)).sort()) {
      if (/\.(md|txt)$/.test(file)) texts.push(readFileSync(join(root, lang, file), 'utf8').slice(0, 600));
    }
  }
  return texts;
}

function turnOf(n: number, withPii: boolean, knowledge: string[]): ChatMessage[] {
  const pick = (list: readonly string[], i: number) => list[i % list.length] as string;
  const system = [
    'You are the customer service assistant. Answer from the passages only and cite them as [n].',
    ...[0, 1, 2].map((i) => `[${i + 1}] ${pick(knowledge, n + i)}`),
  ].join('\n\n');
  const history: ChatMessage[] = [];
  for (let i = 0; i < 8; i++) {
    const user = withPii && i % 3 === 0 ? pick(PII_MESSAGES, n + i) : pick(BENCH_MESSAGES, n + i);
    history.push(
      i % 2 === 0
        ? { role: 'user', content: user }
        : { role: 'assistant', content: pick(knowledge, n + i).slice(0, 200) },
    );
  }
  const question = withPii ? pick(PII_MESSAGES, n) : pick(BENCH_MESSAGES, n);
  return [{ role: 'system', content: system }, ...history, { role: 'user', content: question }];
}

function measure(label: string, run: (i: number) => void): number[] {
  for (let i = 0; i < 200; i++) run(i);
  const samples: number[] = [];
  for (let i = 0; i < turns; i++) {
    const start = process.hrtime.bigint();
    run(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((sum, x) => sum + x, 0) / samples.length;
  console.log(
    `${label.padEnd(34)} p50 ${percentile(samples, 0.5).toFixed(1).padStart(7)} µs   p99 ${percentile(samples, 0.99).toFixed(1).padStart(7)} µs   mean ${mean.toFixed(1).padStart(7)} µs`,
  );
  return samples;
}

warmTokenizer();
const masker = new PiiMasker();
const knowledge = passages();
const piiTurns = Array.from({ length: 64 }, (_, n) => turnOf(n, true, knowledge));
const plainTurns = Array.from({ length: 64 }, (_, n) => turnOf(n, false, knowledge));
const chars = (list: ChatMessage[][]) =>
  Math.round(list.reduce((sum, t) => sum + t.reduce((s, m) => s + m.content.length, 0), 0) / list.length);

console.log(
  `bench:pii  node ${process.version}  ${cpus().length} cpus  load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}  turns ${turns} per kind  prompt ~${chars(piiTurns)} chars`,
);
let found = 0;
const maskTurn = (turn: ChatMessage[]) => {
  const vault = masker.vault('default');
  for (const message of turn) vault.mask(message.content);
  vault.restore('We will call <PHONE_1> and refund <CARD_1>; mail <EMAIL_1>. [1]');
  found += vault.size;
};
const withPii = measure('turn with personal data (mask+restore)', (i) =>
  maskTurn(piiTurns[i % 64] as ChatMessage[]),
);
const plain = measure('turn without (mask+restore)', (i) => maskTurn(plainTurns[i % 64] as ChatMessage[]));
const one = measure('one message with personal data', (i) =>
  masker.mask(PII_MESSAGES[i % PII_MESSAGES.length] as string),
);
const tokens = measure('token count of the same prompt', (i) => {
  for (const message of piiTurns[i % 64] as ChatMessage[]) countMessageTokens(message.role, message.content);
});
const body = measure('JSON body of the same request', (i) =>
  JSON.stringify({ model: 'Qwen/Qwen3-14B', messages: piiTurns[i % 64], max_tokens: 512 }),
);
const p50 = (s: number[]) => percentile(s, 0.5);
console.log(
  `ratios (p50): masking / token counting = ${(p50(withPii) / p50(tokens)).toFixed(2)} with data, ${(p50(plain) / p50(tokens)).toFixed(2)} without; masking / JSON body = ${(p50(withPii) / p50(body)).toFixed(2)} with data, ${(p50(plain) / p50(body)).toFixed(2)} without; with / without = ${(p50(withPii) / p50(plain)).toFixed(2)}; one message = ${p50(one).toFixed(1)} µs`,
);
if (found === 0) {
  console.error('no personal data found: the bench is broken');
  process.exit(1);
}
