import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * Scripted conversations full of personal data through a running hub with a model server: no
 * request the model server receives (answer, intent tier, rewrite, any other) carries a raw value.
 */
let llm: OpenAiEmulator;
let hub: HubProcess;

beforeAll(async () => {
  llm = await startOpenAiEmulator({ apiKey: 'test-key' });
  hub = await startHubProcess(
    writeConfig({
      database: { dataDir: 'memory://' },
      llm: {
        enabled: true,
        baseUrl: llm.url,
        apiKey: 'test-key',
        timeoutMs: 3000,
        maxRetries: 0,
        breaker: { failureThreshold: 50, resetMs: 60_000 },
      },
    }),
  );
});

afterAll(async () => {
  await hub?.stop();
  await llm?.close();
});

/** Each value as written, and its digits alone where it has some (a prompt may rejoin them). */
const RAW = [
  '4111 1111 1111 1111',
  '4111111111111111',
  'CVV 987',
  'GB82 WEST 1234 5698 7654 32',
  'GB82WEST12345698765432',
  '138-0013-8000',
  '13800138000',
  '+44 20 7946 0958',
  '2079460958',
  '+1 415 555 2671',
  '4155552671',
  'alex.wong@example.com',
  'li.na@example.cn',
  '11010519491231002X',
  'E12345678',
];

const CONVERSATIONS: Record<string, string[]> = {
  card: [
    'My card 4111 1111 1111 1111 CVV 987 was charged twice, how long do refunds take?',
    'Can I pay with a credit card instead?',
  ],
  bank: ['退款能打到我的银行账户吗？IBAN GB82 WEST 1234 5698 7654 32', '退款多久到账？'],
  phones: [
    '我的手机 138-0013-8000，邮箱 li.na@example.cn，运费多少？',
    'Or call me on +44 20 7946 0958 or +1 415 555 2671, how long does shipping take?',
    'And what about returns? mail alex.wong@example.com',
  ],
  identity: ['身份证 11010519491231002X 护照 E12345678，能开发票吗？', 'What payment methods do you accept?'],
};

describe('personal data and the model', () => {
  it('sends no raw personal data in any request of scripted conversations', async () => {
    for (const [name, turns] of Object.entries(CONVERSATIONS)) {
      for (const text of turns) {
        const { status } = await ask(hub.url, `privacy-${name}`, text);
        expect(status).toBe(200);
      }
    }
    const bodies = llm.chatRequests().map((body) => JSON.stringify(body));
    // Both the intent tier (a JSON schema) and free-text calls (answer, rewrite) were made.
    const structured = llm.chatRequests().filter((body) => body.response_format).length;
    expect(structured).toBeGreaterThan(0);
    expect(structured).toBeLessThan(bodies.length);
    expect(bodies.length).toBeGreaterThanOrEqual(Object.values(CONVERSATIONS).flat().length);
    for (const body of bodies) {
      for (const raw of RAW) expect(body).not.toContain(raw);
    }
    // The model read the messages, masked: every kind shows as its placeholder somewhere.
    const all = bodies.join('\n');
    for (const placeholder of [
      '<CARD_1>',
      '<CVV_1>',
      '<IBAN_1>',
      '<PHONE_1>',
      '<PHONE_2>',
      '<EMAIL_1>',
      '<ID_1>',
    ])
      expect(all).toContain(placeholder);
    expect(all).toMatch(/<PASSPORT_1>/);
  });
});
