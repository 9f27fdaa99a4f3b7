import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { createLlmClient } from '../../core/llm/client';
import { ibanValid, luhnValid, residentIdValid } from '../../core/privacy/detect';
import { PiiMasker, StreamRestorer } from '../../core/privacy/mask';
import { privacySectionSchema } from '../../core/privacy/schema';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

const masker = new PiiMasker();
const mask = (text: string) => masker.mask(text);

describe('finding personal data', () => {
  it('masks each kind with a typed placeholder', () => {
    expect(mask('卡号 4111 1111 1111 1111，CVV 123，手机 138-0013-8000，邮箱 alex.wong@example.com')).toBe(
      '卡号 <CARD_1>，CVV <CVV_1>，手机 <PHONE_1>，邮箱 <EMAIL_1>',
    );
    expect(mask('card 5500-0000-0000-0004 安全码 456')).toBe('card <CARD_1> 安全码 <CVV_1>');
    expect(mask('IBAN GB82 WEST 1234 5698 7654 32 THANKS and DE89370400440532013000')).toBe(
      'IBAN <IBAN_1> THANKS and <IBAN_2>',
    );
    expect(mask('身份证 11010519491231002X，护照 E12345678')).toBe('身份证 <ID_1>，护照 <PASSPORT_1>');
    expect(mask('passport number K1234567 please')).toBe('passport number <PASSPORT_1> please');
    expect(mask('电话 +44 20 7946 0958 或 +1 415 555 2671')).toBe('电话 <PHONE_1> 或 <PHONE_2>');
    expect(mask('我住在上海市长宁区延安西路1234号，谢谢')).toBe('我住在<ADDRESS_1>，谢谢');
    expect(mask('ship to 221B Baker Street tomorrow')).toBe('ship to <ADDRESS_1> tomorrow');
  });

  it('leaves numbers that fail their check, dates, amounts and order ids alone', () => {
    const plain = [
      'ticket 4111 1111 1111 1112 and invoice INV-2026-1120',
      '身份证 110105194912310021',
      'order A1001 shipped on 2026-11-18 for 129.00 CNY',
      '订单号 20261118000123 什么时候发货',
      'CVV 123 without any card',
      'connect ECONNREFUSED 10.244.12.103:5432',
    ];
    for (const text of plain) expect(mask(text)).toBe(text);
    // A wrong check digit is no IBAN (its digits may still read as a phone number: masked the safe way).
    expect(mask('IBAN GB82 WEST 1234 5698 7654 33')).not.toContain('<IBAN');
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(residentIdValid('11010519491231002X')).toBe(true);
    expect(residentIdValid('110105194912310021')).toBe(false);
  });

  it('gives one value one placeholder however it is written, and restores all but cards and CVVs', () => {
    const vault = masker.vault();
    expect(vault.mask('call 138-0013-8000 or 13800138000, card 4111111111111111 cvv 123')).toBe(
      'call <PHONE_1> or <PHONE_1>, card <CARD_1> cvv <CVV_1>',
    );
    expect(vault.mask('again +86 138 0013 8000')).toBe('again <PHONE_1>');
    expect(vault.restore('We call <PHONE_1> about <CARD_1> (<CVV_1>), not <PHONE_9>')).toBe(
      'We call 138-0013-8000 about **** **** **** 1111 (***), not <PHONE_9>',
    );
  });

  it('reads types, patterns and per-tenant overrides from privacy.pii', () => {
    const config = privacySectionSchema.parse({
      pii: {
        patterns: [{ type: 'member_no', pattern: 'VIP\\d{6}' }],
        tenants: { acme: { types: ['email'], patterns: [{ type: 'ORDER', pattern: 'A\\d{4}' }] } },
      },
    }).pii;
    const configured = new PiiMasker(config);
    expect(configured.mask('VIP123456 at 13800138000, order A1001')).toBe(
      '<MEMBER_NO_1> at <PHONE_1>, order A1001',
    );
    expect(configured.mask('VIP123456 x@y.com 13800138000 A1001', 'acme')).toBe(
      '<MEMBER_NO_1> <EMAIL_1> 13800138000 <ORDER_1>',
    );
    const kept = new PiiMasker(privacySectionSchema.parse({ pii: { restore: false } }).pii).vault();
    expect(kept.mask('call 13800138000, card 4111111111111111')).toBe('call <PHONE_1>, card <CARD_1>');
    expect(kept.restore('<PHONE_1> <CARD_1>')).toBe('<PHONE_1> **** **** **** 1111');
    const off = new PiiMasker(
      privacySectionSchema.parse({ pii: { tenants: { open: { enabled: false } } } }).pii,
    );
    expect(off.mask('13800138000', 'open')).toBe('13800138000');
    expect(() => privacySectionSchema.parse({ pii: { patterns: [{ type: 'X', pattern: '(' }] } })).toThrow();
    expect(() => privacySectionSchema.parse({ pii: { types: ['ssn'] } })).toThrow();
  });

  it('restores a placeholder split across streamed chunks', () => {
    const vault = masker.vault();
    vault.mask('mail me at alex@example.com');
    const stream = new StreamRestorer(vault);
    const shown = ['Sent to <EM', 'AIL_', '1> and <b>', 'done <', 'PHONE'].map((chunk) => stream.push(chunk));
    expect(shown.join('') + stream.flush()).toBe('Sent to alex@example.com and <b>done <PHONE');
    expect(shown[0]).toBe('Sent to ');
  });
});

describe('the model boundary', () => {
  let emulator: OpenAiEmulator;
  beforeAll(async () => {
    emulator = await startOpenAiEmulator();
  });
  afterAll(() => emulator.close());
  const llm = (pii: Record<string, unknown> = {}) => {
    const config = parseConfig(
      {
        llm: { enabled: true, baseUrl: emulator.url, apiKey: 'k', maxRetries: 0, timeoutMs: 2000 },
        privacy: { pii },
      },
      {},
    );
    return createLlmClient(config.llm, { retryBaseMs: 1, privacy: config.privacy.pii });
  };

  it('sends placeholders, and restores the ones the model echoes in text, stream and tool calls', async () => {
    emulator.reset();
    emulator.script({
      chunks: ['We will call <PHO', 'NE_1> about card <CA', 'RD_1>, CVV <CVV_1>.'],
    });
    const deltas: string[] = [];
    const result = await llm().chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'My card 4111 1111 1111 1111 CVV 123 was charged twice, call 13800138000' },
      ],
      onDelta: (delta) => deltas.push(delta),
      route: { conversation: 'c1', tenant: 'default' },
    });
    const sent = JSON.stringify(emulator.chatRequests()[0]);
    expect(sent).toContain('<CARD_1>');
    expect(sent).not.toMatch(/4111|13800138000|CVV 123/);
    const expected = 'We will call 13800138000 about card **** **** **** 1111, CVV ***.';
    expect(result.text).toBe(expected);
    expect(deltas.join('')).toBe(expected);

    emulator.script({ toolCalls: [{ name: 'lookup', arguments: '{"phone":"<PHONE_1>"}' }] });
    const tool = await llm().chat({
      messages: [{ role: 'user', content: 'orders of 13800138000?' }],
      tools: [{ name: 'lookup', description: 'orders by phone', parameters: { type: 'object' } }],
    });
    expect(tool.toolCalls[0]?.arguments).toBe('{"phone":"13800138000"}');
  });

  it('keeps a tenant without masking as it is', async () => {
    emulator.reset();
    await llm({ tenants: { open: { enabled: false } } }).chat({
      messages: [{ role: 'user', content: 'call 13800138000' }],
      route: { tenant: 'open' },
    });
    expect(JSON.stringify(emulator.chatRequests()[0])).toContain('13800138000');
  });
});
