import { describe, expect, it } from 'vitest';
import type { ActionSpec } from '../../core/dialog/flows/actions';
import { afterYesOrNo, yesOrNo } from '../../core/dialog/policy/lexicon';
import { decide, type PolicyInput, policyConfigSchema } from '../../core/dialog/policy/policy';
import {
  angerScore,
  asksForHuman,
  botIsSilent,
  failedTooOften,
  isAngry,
  lowConfidenceTooLong,
  mayRun,
  maySwitchTopic,
  nextMissingSlot,
  requiresConfirmation,
} from '../../core/dialog/policy/rules';
import { foldForMatching } from '../../core/dialog/preprocess';

const config = policyConfigSchema.parse({});
const base = (raw: string, over: Partial<PolicyInput> = {}): PolicyInput => ({
  handoff: 'bot',
  raw,
  folded: foldForMatching(raw),
  intent: { name: 'unknown', confidence: 0 },
  flowActive: false,
  intentStartsFlow: false,
  consecutiveFailures: 0,
  unknownStreak: 0,
  ...over,
});
const ticket: ActionSpec = { name: 'ticket.create', irreversible: true, description: '' };
const lookup: ActionSpec = { name: 'erp.lookupOrder', irreversible: false, description: '' };

describe('policy rules, one by one', () => {
  it('R1 silent: only while a human owns the conversation', () => {
    expect(botIsSilent('human')).toBe(true);
    expect(botIsSilent('waiting')).toBe(false);
    expect(botIsSilent('bot')).toBe(false);
  });

  it('R2 explicit handoff: by intent or by a phrase in either language, English as whole words', () => {
    expect(asksForHuman(foldForMatching('帮我转人工'), undefined)).toBe(true);
    expect(asksForHuman(foldForMatching('Can I talk to a REAL PERSON?'), undefined)).toBe(true);
    expect(asksForHuman('anything', { name: 'handoff' })).toBe(true);
    expect(asksForHuman(foldForMatching('is this humane packaging?'), undefined)).toBe(false);
    expect(asksForHuman(foldForMatching('怎么退货'), { name: 'return_exchange' })).toBe(false);
  });

  it('R2 short handoff commands: "agent", "人工" and close variants alone hand off; inside a sentence they do not', () => {
    for (const ask of [
      'agent',
      'Agent!',
      'agent please',
      'human',
      'talk to a human',
      'real person',
      '人工',
      '人工！',
      '转人工',
      '人工客服',
      '我要人工',
      'I want an agent',
      'get me an agent',
    ])
      expect(asksForHuman(foldForMatching(ask), undefined), ask).toBe(true);
    for (const other of [
      'the delivery agent left my parcel outside',
      '人工智能手表保修多久',
      'agent of change',
    ])
      expect(asksForHuman(foldForMatching(other), undefined), other).toBe(false);
  });

  it('R3 anger: lexicon weights plus shouting, at a threshold', () => {
    expect(angerScore('这是什么破服务，垃圾', foldForMatching('这是什么破服务，垃圾'))).toBe(4);
    expect(angerScore('a bit disappointed', 'a bit disappointed')).toBe(1);
    expect(angerScore('WHERE IS MY ORDER', 'where is my order')).toBe(1);
    expect(angerScore('where is it!!!', 'where is it!')).toBe(1);
    expect(isAngry('a bit disappointed', 'a bit disappointed', 2)).toBe(false);
    expect(isAngry('I am DISAPPOINTED!!!', 'i am disappointed!', 2)).toBe(true);
    expect(isAngry('我要投诉快递员', '我要投诉快递员', 2)).toBe(false); // a complaint is not anger
  });

  it('R4 repeated failure and R6 low confidence: counters against limits', () => {
    expect(failedTooOften(2, 3)).toBe(false);
    expect(failedTooOften(3, 3)).toBe(true);
    expect(lowConfidenceTooLong(2, 3)).toBe(false);
    expect(lowConfidenceTooLong(3, 3)).toBe(true);
  });

  it('clarify: exactly the first missing slot, in order, empty strings count as missing', () => {
    expect(nextMissingSlot(['order_id', 'kind', 'reason'], { order_id: 'AB12345678' })).toBe('kind');
    expect(nextMissingSlot(['order_id', 'kind'], { order_id: '', kind: 'return' })).toBe('order_id');
    expect(nextMissingSlot(['order_id'], { order_id: 'AB12345678' })).toBeUndefined();
  });

  it('confirm: an irreversible action needs a yes for exactly its step', () => {
    expect(requiresConfirmation(ticket, undefined, 'create')).toBe(true);
    expect(requiresConfirmation(ticket, 'other_step', 'create')).toBe(true);
    expect(requiresConfirmation(ticket, 'create', 'create')).toBe(false);
    expect(requiresConfirmation(lookup, undefined, 'lookup')).toBe(false);
  });

  it('the LLM never runs an irreversible action; flows may, after confirmation', () => {
    expect(mayRun(ticket, 'llm')).toBe(false);
    expect(mayRun(lookup, 'llm')).toBe(true);
    expect(mayRun(ticket, 'flow')).toBe(true);
  });

  it('topic switch mid-flow: rules or LLM, or a very sure classifier', () => {
    expect(maySwitchTopic({ confidence: 0.9, tier: 'rules' })).toBe(true);
    expect(maySwitchTopic({ confidence: 0.75, tier: 'llm' })).toBe(true);
    expect(maySwitchTopic({ confidence: 0.75, tier: 'classifier' })).toBe(false);
    expect(maySwitchTopic({ confidence: 0.95, tier: 'classifier' })).toBe(true);
  });

  it('yes/no: short answers in both languages; the longest prefix wins; long messages are neither', () => {
    for (const yes of ['yes', 'Yes please', '好的', '是的，确认', 'ok', '有帮助'])
      expect(yesOrNo(foldForMatching(yes)), yes).toBe('yes');
    for (const no of ['no', 'nope', '不是', '不用了', '不要', 'no thanks'])
      expect(yesOrNo(foldForMatching(no)), no).toBe('no');
    expect(yesOrNo('yesterday')).toBeUndefined();
    expect(yesOrNo(foldForMatching('是这样的，我上周买的鞋子尺码不对想换一双大一码的'))).toBeUndefined();
  });

  it('yes/no is the whole message: alone or with fillers, punctuation and emoji; a yes before a question is neither', () => {
    for (const yes of [
      'yeah',
      'yep!',
      'Sure.',
      'OK 👍',
      '👍',
      'yes thank you',
      '是',
      '是的。',
      '对',
      '好的～',
      '可以',
      '嗯',
      '嗯嗯',
      '好的谢谢',
      '可以的',
    ])
      expect(yesOrNo(foldForMatching(yes)), yes).toBe('yes');
    for (const no of [
      'No.',
      'nope 👎',
      'not really',
      '不是',
      '不',
      '没有',
      '不用',
      '没有帮助',
      '不用了，谢谢',
    ])
      expect(yesOrNo(foldForMatching(no)), no).toBe('no');
    for (const neither of [
      '可以开发票吗？',
      '是的 我想问下能用支付宝吗',
      '是的，我想问下能用支付宝吗？',
      'yes, and can I pay by card?',
      'ok where is my order',
      '对了，发票怎么开',
      'yes no',
      '好不好',
      '😀',
      'thanks',
    ])
      expect(yesOrNo(foldForMatching(neither)), neither).toBeUndefined();
  });

  it('a yes or no word, a pause, then a message of its own: the message is what the turn is about', () => {
    expect(afterYesOrNo('是的 我想问下能用支付宝吗')).toBe('我想问下能用支付宝吗');
    expect(afterYesOrNo('yes, and can I pay by card?')).toBe('and can I pay by card?');
    expect(afterYesOrNo('No. Where is my order AB12345678?')).toBe('Where is my order AB12345678?');
    // The word is part of the sentence, or nothing follows it: unchanged.
    expect(afterYesOrNo('可以开发票吗？')).toBe('可以开发票吗？');
    expect(afterYesOrNo('yes please')).toBe('yes please');
    expect(afterYesOrNo('不用了，谢谢')).toBe('不用了，谢谢');
  });
});

describe('decide: the order of the rules', () => {
  it('silent beats everything, even an explicit request', () => {
    expect(decide(base('转人工', { handoff: 'human' }), config)).toEqual({ type: 'silent' });
  });
  it('waiting for an agent: the bot only says so', () => {
    expect(decide(base('还要多久', { handoff: 'waiting' }), config)).toEqual({ type: 'wait' });
  });
  it('explicit request beats an active flow', () => {
    expect(decide(base('I want a human', { flowActive: true }), config)).toEqual({
      type: 'handoff',
      reason: 'explicit',
    });
  });
  it('anger beats a flow', () => {
    expect(decide(base('垃圾服务，气死了', { flowActive: true }), config)).toEqual({
      type: 'handoff',
      reason: 'anger',
    });
  });
  it('repeated failure beats a flow', () => {
    expect(decide(base('AB123', { flowActive: true, consecutiveFailures: 3 }), config)).toEqual({
      type: 'handoff',
      reason: 'repeated_failure',
    });
  });
  it('an active flow or a flow intent goes to the flow runtime', () => {
    expect(decide(base('AB12345678', { flowActive: true }), config)).toEqual({ type: 'flow' });
    expect(
      decide(
        base('where is my order', {
          intent: { name: 'order_status', confidence: 0.9 },
          intentStartsFlow: true,
        }),
        config,
      ),
    ).toEqual({ type: 'flow' });
  });
  it('unknown intent: answer from knowledge, until the streak hits the limit', () => {
    expect(decide(base('hmm', { unknownStreak: 0 }), config)).toEqual({ type: 'answer' });
    expect(decide(base('hmm', { unknownStreak: 1 }), config)).toEqual({ type: 'answer' });
    expect(decide(base('hmm', { unknownStreak: 2 }), config)).toEqual({
      type: 'handoff',
      reason: 'low_confidence',
    });
  });
  it('a known intent without a flow is answered from knowledge', () => {
    expect(
      decide(base('can I pay by card', { intent: { name: 'payment', confidence: 0.9 } }), config),
    ).toEqual({ type: 'answer' });
  });
});
