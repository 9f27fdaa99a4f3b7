import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlmClient, type LlmConfig } from '../../core/llm';
import {
  type CaseFacts,
  type CaseLine,
  CaseSummarizer,
  summarizeByRules,
} from '../../core/tickets/case-summary';
import { buildTicketDraft, caseFactsOf, customerQuestion, type DraftInput } from '../../core/tickets/draft';
import { maskTicketDraft } from '../../core/tickets/privacy';
import type { LlmClient } from '../../core/types';
import { chatKindOf, type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

const ref = { channel: 'webchat', tenant: 'default', conversation: 'cs1' };
const at = '2026-12-06T10:00:00Z';
const customer = (text: string): CaseLine => ({ role: 'customer', text, at });
const bot = (text: string, extra: Partial<CaseLine> = {}): CaseLine => ({ role: 'bot', text, at, ...extra });

function draftInput(transcript: CaseLine[], extra: Partial<DraftInput> = {}): DraftInput {
  return {
    ref,
    customer: { channel: 'webchat', tenant: 'default', userId: 'u1' },
    transcript,
    slots: {},
    reason: 'customer_request',
    locale: 'en',
    ...extra,
  };
}

describe('the ticket subject is the question that led to the handoff', () => {
  it('skips a greeting and takes the first question, not the last message', () => {
    const draft = buildTicketDraft(
      draftInput([
        customer('Hi'),
        bot('Hello! How can I help?'),
        customer('Where is my parcel? It was due on Monday.'),
        bot('Your order ships in 3 days.', { source: 'extractive', cited: ['Delivery times'] }),
        customer('alex@example.com'),
        customer('I want a human'),
      ]),
    );
    expect(draft.subject).toBe('[webchat] Where is my parcel? It was due on Monday.');
  });

  it('cuts a greeting off the question itself', () => {
    expect(customerQuestion(['Hello, can I return shoes I wore once?'])).toBe(
      'can I return shoes I wore once?',
    );
    expect(customerQuestion(['您好，我的快递三天了还没到'])).toBe('我的快递三天了还没到');
    // Only a greeting word is cut, not a word that starts like one.
    expect(customerQuestion(['history of my payments please'])).toBe('history of my payments please');
    expect(customerQuestion(['Hi there! Hey, where is my refund?'])).toBe('where is my refund?');
  });

  it('never takes a message that is only an e-mail address, a phone number or an order id', () => {
    expect(customerQuestion(['alex@example.com'])).toBeUndefined();
    expect(customerQuestion(['my email is alex@example.com'])).toBeUndefined();
    expect(customerQuestion(['+86 138 0013 8000'])).toBeUndefined();
    expect(customerQuestion(['AB12345678'])).toBeUndefined();
    expect(customerQuestion(['我的邮箱是 alex@example.com'])).toBeUndefined();
    expect(customerQuestion(['订单号 AB12345678'])).toBeUndefined();
    expect(customerQuestion(['ok', 'thanks', '转人工'])).toBeUndefined();
  });

  it('finds the Chinese question after a greeting and an identifier', () => {
    const draft = buildTicketDraft(
      draftInput(
        [
          customer('你好'),
          customer('13800138000'),
          customer('我买的耳机坏了，可以换货吗？'),
          customer('人工'),
        ],
        { locale: 'zh' },
      ),
    );
    expect(draft.subject).toBe('[webchat] 我买的耳机坏了，可以换货吗？');
  });

  it('shows personal data in the question as placeholders, and falls back to a plain subject', () => {
    const question = customerQuestion(['I was charged twice, please call me on 13800138000']);
    expect(question).toContain('<PHONE_1>');
    expect(question).not.toContain('13800138000');
    expect(buildTicketDraft(draftInput([customer('alex@example.com'), customer('agent')])).subject).toBe(
      '[webchat] Customer asked for an agent',
    );
    expect(buildTicketDraft(draftInput([customer('人工')], { locale: 'zh' })).subject).toBe(
      '[webchat] 客户要求转人工',
    );
  });

  it('cuts a long question to a subject length', () => {
    const long = `Why ${'does my order take so long '.repeat(10)}?`;
    const draft = buildTicketDraft(draftInput([customer(long)]));
    expect(draft.subject.length).toBeLessThanOrEqual('[webchat] '.length + 80);
    expect(draft.subject.endsWith('…')).toBe(true);
  });
});

describe('the case summary by rules', () => {
  const transcript = [
    customer('Hello'),
    customer('Can I return headphones after 30 days? Order AB12345678'),
    bot('Returns are accepted within 30 days of delivery.', {
      source: 'extractive',
      cited: ['Return policy'],
    }),
    customer('that did not help'),
    customer('I want a human'),
  ];

  it('says the question, intent, details, mentions and what was tried with the reaction', () => {
    const facts = caseFactsOf(
      draftInput(transcript, {
        intent: 'return',
        slots: { 'order.id': 'AB12345678', 'ticket.reference': 'HUB-1' },
      }),
    );
    const text = summarizeByRules(facts);
    expect(text).toContain('The customer asked to talk to a person.');
    expect(text).toContain('Question: "Can I return headphones after 30 days? Order AB12345678"');
    expect(text).toContain('Intent: return');
    expect(text).toContain('Details: order.id=AB12345678');
    expect(text).not.toContain('HUB-1');
    expect(text).toContain('Mentioned: order AB12345678');
    expect(text).toContain(
      'Tried: answered from the knowledge base entry "Return policy", the customer said it did not help',
    );
  });

  it('writes Chinese for a Chinese conversation, and says when nothing was tried', () => {
    const zh = summarizeByRules(
      caseFactsOf(
        draftInput(
          [
            customer('发票可以重开吗？'),
            bot('可以，在订单页申请。', { source: 'llm', cited: ['发票说明'] }),
            customer('没用'),
          ],
          { locale: 'zh' },
        ),
      ),
    );
    expect(zh).toContain('问题："发票可以重开吗？"');
    expect(zh).toContain('已尝试：根据知识库条目 "发票说明" 作答，客户表示没有帮助');
    const inFlow = summarizeByRules(
      caseFactsOf(
        draftInput([customer('where is my order AB12345678'), customer('agent')], {
          flows: [{ flow: 'order_status', step: 'verify' }],
        }),
      ),
    );
    expect(inFlow).toContain('Tried: the order_status flow, left at step verify');
    // The question the bot waited on, when it was not an answer, tells the agent where it stopped.
    const asked = summarizeByRules(
      caseFactsOf(
        draftInput([
          customer('where is my order AB12345678'),
          bot('To protect your privacy, please tell me the phone number used for order AB12345678.', {
            source: 'flow',
          }),
          customer('I want a human'),
        ]),
      ),
    );
    expect(asked).toContain(
      'Tried: its last message was "To protect your privacy, please tell me the phone number used for order AB12345678."',
    );
    const none = summarizeByRules(caseFactsOf(draftInput([customer('I want a human')])));
    expect(none).toContain('Tried: the bot gave no answer before the handoff');
  });

  it('goes into the draft summary with the triage, masked with the rest of the draft', () => {
    const draft = buildTicketDraft(
      draftInput([customer('I was charged twice, call me at 13800138000'), customer('agent please')]),
    );
    expect(draft.summary).toContain('Tried: the bot gave no answer before the handoff');
    expect(draft.summary).toMatch(/Category general, priority high\.$/);
    const masked = maskTicketDraft(draft);
    expect(masked.summary).not.toContain('13800138000');
    expect(masked.transcript[0]?.text).toContain('<PHONE_1>');
  });
});

describe('the case summary by a model', () => {
  let emulator: OpenAiEmulator;
  let llm: LlmClient;
  const facts = (): CaseFacts =>
    caseFactsOf(
      draftInput(
        [
          customer('Where is my parcel AB12345678? write to alex@example.com'),
          bot('It is on its way.', { source: 'extractive', cited: ['Delivery times'] }),
          customer('not helpful, I want a person'),
        ],
        { intent: 'order_status' },
      ),
    );

  beforeAll(async () => {
    emulator = await startOpenAiEmulator();
    const config: LlmConfig = {
      enabled: true,
      baseUrl: emulator.url,
      model: 'Qwen/Qwen3-14B',
      apiKey: 'test-key',
      timeoutMs: 2_000,
      maxRetries: 0,
      maxTokens: 256,
      temperature: 0.3,
      enableThinking: false,
      breaker: { failureThreshold: 50, resetMs: 30_000 },
    };
    llm = createLlmClient(config, { retryBaseMs: 5, retryMaxMs: 20 });
  });
  afterAll(() => emulator.close());
  beforeEach(() => emulator.reset());

  it('asks the model through the masked client and keeps its words', async () => {
    emulator.script(
      'The customer asks where parcel AB12345678 is; contact <EMAIL_1>.\nThe bot answered from "Delivery times"; it did not help.',
    );
    const summary = await new CaseSummarizer({ llm }).summarize(facts(), { tenant: 'default' });
    expect(summary.by).toBe('llm');
    // The reply's placeholders come back as the customer wrote them; the ticket's masking hides them again.
    expect(summary.text).toContain('alex@example.com');
    expect(summary.text).toContain('it did not help');
    const [request] = emulator.chatRequests();
    const prompt = JSON.stringify(request?.messages);
    expect(prompt).not.toContain('alex@example.com');
    expect(prompt).toContain('<EMAIL_1>');
    expect(prompt).toContain('[from knowledge base: Delivery times]');
    expect(prompt).toContain('in English');
    // Benchmarks count customer answers; a case summary is not one.
    expect(chatKindOf(request ?? {})).toBe('other');

    const draft = maskTicketDraft(
      buildTicketDraft({ ...draftInput(facts().transcript), caseSummary: summary.text }),
    );
    expect(draft.summary.startsWith('The customer asks where parcel AB12345678 is; contact <EMAIL_1>.')).toBe(
      true,
    );
  });

  it('asks for Chinese in a Chinese conversation', async () => {
    emulator.script('客户询问发票重开。');
    const zh = caseFactsOf(draftInput([customer('发票可以重开吗？')], { locale: 'zh' }));
    const summary = await new CaseSummarizer({ llm }).summarize(zh);
    expect(summary).toEqual({ text: '客户询问发票重开。', by: 'llm' });
    expect(JSON.stringify(emulator.chatRequests()[0]?.messages)).toContain('Simplified Chinese');
  });

  it('falls back to the rules when the model is slow, fails or says nothing', async () => {
    emulator.setLatency({ requestMs: 1_500 });
    const slow = await new CaseSummarizer({ llm, timeoutMs: 200 }).summarize(facts());
    expect(slow.by).toBe('rules');
    expect(slow.text).toContain('Tried: answered from the knowledge base entry "Delivery times"');
    emulator.reset();
    emulator.fail({ status: 500, times: 1 });
    expect((await new CaseSummarizer({ llm }).summarize(facts())).by).toBe('rules');
    emulator.reset();
    emulator.script('   ');
    expect((await new CaseSummarizer({ llm }).summarize(facts())).by).toBe('rules');
    expect((await new CaseSummarizer().summarize(facts())).by).toBe('rules');
  });
});
