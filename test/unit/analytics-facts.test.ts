import { beforeAll, describe, expect, it } from 'vitest';
import { turnFact } from '../../core/analytics';
import { parseConfig } from '../../core/config/load';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { createKnowledge, type Knowledge } from '../../core/rag';
import type { InboundEvent, LlmClient } from '../../core/types';
import { HubError } from '../../core/types/errors';

/** A turn's facts from the engine's own trace: the LLM fallback, the decision, the intent bucket. */

const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
let knowledge: Knowledge;

beforeAll(async () => {
  knowledge = await createKnowledge(config);
});

const question: InboundEvent = {
  id: 'q1',
  kind: 'message',
  ref: { channel: 'rest', tenant: 'default', conversation: '+8613800138000' },
  sender: { id: '+8613800138000' },
  receivedAt: '2026-11-02T08:00:00.000Z',
  text: 'How do I return an item?',
};

async function factWith(llm?: LlmClient) {
  const engine = new DialogEngine({
    config,
    retriever: knowledge.retriever,
    dialog: await loadDialogKit(config),
    ...(llm ? { llm } : {}),
  });
  const before = emptyState('rest:default:x');
  const result = await engine.respond(question, before);
  return turnFact(question, result.replies, before, result.state, result.trace);
}

describe('turn facts', () => {
  it('name an LLM fallback by its reason, and none when the hub runs without a model', async () => {
    const timingOut: LlmClient = {
      chat: async () => Promise.reject(new HubError('llm.timeout', 'no answer in time', { retryable: true })),
      available: () => true,
    };
    const open: LlmClient = {
      chat: async () => Promise.reject(new Error('not called')),
      available: () => false,
    };
    const timedOut = await factWith(timingOut);
    expect(timedOut).toMatchObject({ answerRan: true, unanswered: false, llmFallback: 'timeout' });
    expect((await factWith(open)).llmFallback).toBe('circuit_open');
    const without = await factWith();
    expect(without.llmFallback).toBeUndefined();
    expect(without).toMatchObject({
      customer: true,
      tenant: 'default',
      channel: 'rest',
      language: 'en',
      handoff: false,
      replies: 1,
      at: new Date('2026-11-02T08:00:00.000Z'),
    });
    expect(without.confidenceBucket).toBe(Math.min(9, Math.floor((without.confidence ?? 0) * 10)));
  });
});
