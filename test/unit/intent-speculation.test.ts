import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { registry } from '../../core/metrics';
import { sleep } from '../../core/resilience/sleep';
import { type ChatRequest, HubError, type InboundEvent, type LlmClient } from '../../core/types';
import { demoKnowledge } from '../dialog/harness';

/**
 * `dialog.llmIntentTier`: with `speculative`, the answer starts beside the LLM intent tier and is
 * used or called off by the intent; with `sequential`, the answer waits for the intent.
 */

interface Call {
  task?: string;
  start: number;
  end: number;
  aborted: boolean;
}

/** A model that takes `ms` per request, classifies as told and quotes the first passage; aborts are honoured. */
function slowModel(intent: string, ms = 120) {
  const calls: Call[] = [];
  const llm: LlmClient = {
    available: () => true,
    async chat(request: ChatRequest) {
      const call: Call = { task: request.route?.task, start: performance.now(), end: 0, aborted: false };
      calls.push(call);
      const aborted = () => new HubError('llm.aborted', 'aborted', { status: 499 });
      try {
        if (request.onDelta) {
          // A streamed answer: its first words early, the rest at the end.
          await sleep(ms / 4, request.signal, aborted);
          request.onDelta('Electronics carry ');
          await sleep((3 * ms) / 4, request.signal, aborted);
          request.onDelta('a one-year warranty [1].');
        } else await sleep(ms, request.signal, aborted);
      } catch (error) {
        call.aborted = true;
        call.end = performance.now();
        throw error;
      }
      call.end = performance.now();
      const text =
        request.route?.task === 'classify'
          ? JSON.stringify({ intent, confidence: 0.9 })
          : 'Electronics carry a one-year warranty [1].';
      return { text, toolCalls: [], model: 'm', finishReason: 'stop' };
    },
  };
  return { llm, calls };
}

let seq = 0;
async function turn(
  tier: 'speculative' | 'sequential',
  intent: string,
  text: string,
  onDraft?: (soFar: string) => void,
  llmConfig: Record<string, unknown> = {},
) {
  const config = parseConfig(
    {
      database: { dataDir: 'memory://' },
      knowledge: { storeDir: '/nonexistent' },
      llm: { enabled: true, ...llmConfig },
      dialog: { llmIntentTier: tier },
    },
    {},
  );
  const { llm, calls } = slowModel(intent);
  const engine = new DialogEngine({
    config,
    retriever: (await demoKnowledge()).retriever,
    llm,
    dialog: await loadDialogKit(config, { llm }),
  });
  const event: InboundEvent = {
    id: `spec:${++seq}`,
    kind: 'message',
    ref: { channel: 'test', tenant: 'default', conversation: `spec-${seq}` },
    sender: { id: 'customer' },
    receivedAt: new Date().toISOString(),
    text,
  };
  const began = performance.now();
  const result = await engine.respond(
    event,
    emptyState(`test:default:spec-${seq}`),
    onDraft ? { onDraft } : {},
  );
  return { result, calls, ms: performance.now() - began };
}

const speculation = async (outcome: string) =>
  (await registry.getSingleMetric('hub_intent_speculative_answers_total')?.get())?.values.find(
    (v) => v.labels.outcome === outcome,
  )?.value ?? 0;

// The classifier is unsure of this one (0.6 < 0.7), so the LLM tier runs.
const UNSURE = 'How long is the warranty on electronics?';

describe('dialog.llmIntentTier', () => {
  it('defaults to speculative', () => {
    expect(parseConfig({}, {}).dialog.llmIntentTier).toBe('speculative');
  });

  it('speculative: the answer runs beside the classification and is used when the intent is FAQ', async () => {
    const used = await speculation('used');
    const { result, calls } = await turn('speculative', 'faq', UNSURE);
    expect(result.trace.intent).toMatchObject({ name: 'faq', tier: 'llm' });
    const classify = calls.find((c) => c.task === 'classify');
    const answers = calls.filter((c) => c.task === 'answer');
    // One answer, started before the classification ended, and used: no second answer request.
    expect(answers).toHaveLength(1);
    expect(answers[0]?.start).toBeLessThan(classify?.end ?? 0);
    expect(answers[0]?.aborted).toBe(false);
    expect(result.replies[0]?.source).toBe('llm');
    expect(result.trace.texts.join('\n')).toContain('one-year warranty');
    expect(await speculation('used')).toBe(used + 1);
  });

  it('speculative: the answer is used when the intent stays unknown (answered from the knowledge base)', async () => {
    const { result, calls } = await turn('speculative', 'unknown', UNSURE);
    expect(result.trace.intent?.name).toBe('unknown');
    expect(calls.filter((c) => c.task === 'answer')).toMatchObject([{ aborted: false }]);
    expect(result.replies[0]?.source).toBe('llm');
  });

  it('speculative: the answer is called off (its request aborted) when the intent starts another flow', async () => {
    const dropped = await speculation('dropped');
    const { result, calls } = await turn('speculative', 'return_exchange', UNSURE);
    expect(result.trace.intent).toMatchObject({ name: 'return_exchange', tier: 'llm' });
    expect(result.trace.decision?.type).toBe('flow');
    const answers = calls.filter((c) => c.task === 'answer');
    expect(answers).toHaveLength(1);
    expect(answers[0]?.aborted).toBe(true);
    // Called off as soon as the intent was known, not left running to the end of its 120 ms.
    const classify = calls.find((c) => c.task === 'classify');
    expect((answers[0]?.end ?? 0) - (classify?.end ?? 0)).toBeLessThan(60);
    expect(result.trace.actions.map((a) => a.action)).not.toContain('answer');
    expect(result.trace.texts.join('\n')).not.toContain('one-year warranty');
    expect(await speculation('dropped')).toBe(dropped + 1);
  });

  it('speculative: a streamed answer reaches the draft only once it is used, and never when it is called off', async () => {
    const drafts: Array<{ text: string; at: number }> = [];
    const used = await turn('speculative', 'faq', UNSURE, (text) =>
      drafts.push({ text, at: performance.now() }),
    );
    const classifyEnd = used.calls.find((c) => c.task === 'classify')?.end ?? 0;
    expect(drafts.at(-1)?.text).toBe('Electronics carry a one-year warranty [1].');
    // The first words were generated before the intent was known; shown only after it was.
    expect(drafts[0]?.at).toBeGreaterThanOrEqual(classifyEnd);
    expect(drafts[0]?.text).toBe('Electronics carry ');

    const shown: string[] = [];
    await turn('speculative', 'return_exchange', UNSURE, (text) => shown.push(text));
    expect(shown.filter((text) => text.includes('Electronics'))).toEqual([]);
  });

  it('sequential: the answer starts only after the classification', async () => {
    const { result, calls, ms } = await turn('sequential', 'faq', UNSURE);
    const classify = calls.find((c) => c.task === 'classify');
    const answers = calls.filter((c) => c.task === 'answer');
    expect(answers).toHaveLength(1);
    expect(answers[0]?.start).toBeGreaterThanOrEqual(classify?.end ?? Number.POSITIVE_INFINITY);
    expect(result.replies[0]?.source).toBe('llm');
    expect(ms).toBeGreaterThanOrEqual(235);
  });

  it('does not speculate when the answer model is chosen by intent (llm.routing.lightIntents)', async () => {
    const { calls } = await turn('speculative', 'faq', UNSURE, undefined, {
      models: [
        { name: 'main', role: 'main', model: 'big' },
        { name: 'light', role: 'light', model: 'small' },
      ],
      routing: { lightIntents: ['faq'] },
    });
    const classify = calls.find((c) => c.task === 'classify');
    const answers = calls.filter((c) => c.task === 'answer');
    expect(answers).toHaveLength(1);
    expect(answers[0]?.start).toBeGreaterThanOrEqual(classify?.end ?? Number.POSITIVE_INFINITY);
  });

  it('speculates only when the LLM tier runs: a message the classifier is sure of costs one answer request', async () => {
    const { calls } = await turn('speculative', 'faq', 'How long does standard shipping take?');
    expect(calls.map((c) => c.task)).toEqual(['answer']);
  });
});
