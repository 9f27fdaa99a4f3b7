import { describe, expect, it } from 'vitest';
import { detectLanguage } from '../../core/dialog/language';
import { foldForMatching } from '../../core/dialog/preprocess';
import { smallTalkOf } from '../../core/dialog/small-talk';
import { inboundText } from '../../core/store/rows';
import type { InboundEvent } from '../../core/types';

describe('small talk', () => {
  it('recognizes greetings, thanks and goodbyes in both languages, alone or with fillers and emoji', () => {
    const cases: Record<string, string> = {
      hi: 'greeting',
      'Hello!': 'greeting',
      'hey there 👋': 'greeting',
      'good morning': 'greeting',
      你好: 'greeting',
      '您好！': 'greeting',
      '在吗？': 'greeting',
      thanks: 'thanks',
      'Thank you so much!': 'thanks',
      'ok thanks': 'thanks',
      谢谢: 'thanks',
      '谢谢你！': 'thanks',
      非常感谢: 'thanks',
      ok: 'acknowledgement',
      'OK!': 'acknowledgement',
      'got it': 'acknowledgement',
      好的: 'acknowledgement',
      嗯嗯: 'acknowledgement',
      知道了: 'acknowledgement',
      bye: 'goodbye',
      'thanks, bye!': 'goodbye',
      再见: 'goodbye',
      拜拜: 'goodbye',
    };
    for (const [text, kind] of Object.entries(cases))
      expect(smallTalkOf(foldForMatching(text)), text).toBe(kind);
  });

  it('a greeting or thanks with a question or request is not small talk', () => {
    for (const text of [
      'hi, where is my order',
      'hello can I get an invoice',
      'thanks, and how long does shipping take?',
      '你好，我的订单到哪了',
      '谢谢，再问一下发票怎么开',
      'history of the shop',
      'hide my account',
      'ok where is my order',
      '好的，那发票呢',
      '',
    ])
      expect(smallTalkOf(foldForMatching(text)), text).toBeUndefined();
  });
});

describe('reply language', () => {
  it('follows the letters of the message; ids, digits, "ok" and emoji keep the hint (the conversation)', () => {
    expect(detectLanguage('where is my order', 'zh')).toBe('en');
    expect(detectLanguage('我的订单到哪了', 'en')).toBe('zh');
    for (const ambiguous of ['ok', 'OK!', 'okay', '👍', '12345', 'hmm', 'haha'])
      expect(detectLanguage(ambiguous, 'zh'), ambiguous).toBe('zh');
    expect(detectLanguage('ok', 'en')).toBe('en');
  });
});

describe('transcript text of an action event', () => {
  const event = (action: NonNullable<InboundEvent['action']>): InboundEvent => ({
    id: 'e1',
    kind: 'action',
    ref: { channel: 'teams', tenant: 'default', conversation: 'c1' },
    sender: { id: 'u1' },
    receivedAt: '2026-12-01T10:00:00Z',
    action,
  });

  it('reads as the title, a plain value, or the action id: never "[object Object]"', () => {
    expect(inboundText(event({ id: 'yes', title: 'Yes', value: { hubAction: 'yes' } }))).toBe('Yes');
    expect(inboundText(event({ id: 'pick', value: 'exchange' }))).toBe('exchange');
    expect(inboundText(event({ id: 'submit', value: { rating: 5, comment: 'fine' } }))).toBe(
      '[action submit]',
    );
  });
});
