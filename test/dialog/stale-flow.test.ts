import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../core/config/load';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { ActionRegistry } from '../../core/dialog/flows/actions';
import { buildFlowSet } from '../../core/dialog/flows/load';
import { FlowRuntime } from '../../core/dialog/flows/runtime';
import type { FlowDefinition } from '../../core/dialog/flows/schema';
import { type DialogKit, loadDialogKit } from '../../core/dialog/setup';
import { logger } from '../../core/log';
import { EmbeddedRetriever } from '../../core/rag';
import type { DialogState, InboundEvent } from '../../core/types';

const FLOWS = 'config/flows';
const config = parseConfig({ database: { dataDir: 'memory://' } }, {});

/** The shipped flow files, parsed, so a test can remove or change one as an operator would. */
const shippedFlows = () =>
  readdirSync(FLOWS)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ source: f, data: parseYaml(readFileSync(join(FLOWS, f), 'utf8')) as FlowDefinition }));

function fixtureActions(): ActionRegistry {
  return new ActionRegistry()
    .register('answer', async (params) =>
      /payment/i.test(params.query ?? '')
        ? { ok: true, data: { text: 'We accept Alipay, WeChat Pay and cards.', source: 'extractive' } }
        : { ok: false, error: 'nothing relevant' },
    )
    .register('ticket.create', async () => ({ ok: true, data: { id: 'T-1' } }))
    .register('handoff', async () => ({ ok: true, data: { reference: 'T-2' } }));
}

/** An engine over the shipped dialog file, with the flows as `edit` leaves them. */
async function engineWith(edit: (flows: ReturnType<typeof shippedFlows>) => ReturnType<typeof shippedFlows>) {
  const actions = fixtureActions();
  const kit = await loadDialogKit(config, { actions });
  const flows = buildFlowSet(edit(shippedFlows()), actions.allSpecs());
  const dialog: DialogKit = { ...kit, flows, runtime: new FlowRuntime(flows) };
  return new DialogEngine({ config, retriever: new EmbeddedRetriever(), dialog });
}

let seq = 0;
const say = (text: string): InboundEvent => ({
  id: `stale:${++seq}`,
  kind: 'message',
  ref: { channel: 'test', tenant: 'default', conversation: 'stale' },
  sender: { id: 'customer' },
  receivedAt: new Date().toISOString(),
  text,
  locale: 'en',
});

/** A conversation left inside the complaint flow, at its confirm step. */
async function insideComplaint(): Promise<DialogState> {
  const engine = await engineWith((flows) => flows);
  let state = emptyState('test:default:stale');
  for (const text of [
    'I want to make a complaint',
    'The courier left my parcel in the rain',
    '13812345678',
  ]) {
    state = (await engine.respond(say(text), state)).state;
  }
  expect(state.dialog?.flow.stack.map((f) => [f.flow, f.step])).toEqual([['complaint', 'confirm']]);
  return state;
}

/** The dialog.stale_flow warnings logged while `warn` was watched. */
const staleWarnings = (warn: { mock: { calls: unknown[][] } }) =>
  warn.mock.calls
    .map(([fields]) => fields as { code?: string })
    .filter((fields) => fields?.code === 'dialog.stale_flow');

afterEach(() => vi.restoreAllMocks());

describe('a flow changed while a conversation is inside it', () => {
  it('removed: the next message is answered, the frame dropped with a dialog.stale_flow warning', async () => {
    const state = await insideComplaint();
    const engine = await engineWith((flows) => flows.filter((f) => f.data.name !== 'complaint'));
    const warn = vi.spyOn(logger, 'warn');

    const turn = await engine.respond(say('Which payment methods do you accept?'), state);
    expect(turn.trace.texts[0]).toBe('We accept Alipay, WeChat Pay and cards.');
    expect(turn.replies).toHaveLength(1);
    expect(turn.state.dialog?.flow.stack.map((f) => f.flow)).not.toContain('complaint');
    expect(staleWarnings(warn)).toEqual([
      { code: 'dialog.stale_flow', flow: 'complaint', step: 'confirm', reason: 'unknown_flow' },
    ]);

    // And the conversation goes on normally afterwards: no further warnings.
    const next = await engine.respond(say('I want to talk to a human'), turn.state);
    expect(next.trace.actions.map((a) => a.action)).toEqual(['handoff']);
    expect(staleWarnings(warn)).toHaveLength(1);
  });

  it('step renamed: the next message is answered, the frame dropped with a dialog.stale_flow warning', async () => {
    const state = await insideComplaint();
    const engine = await engineWith((flows) =>
      flows.map((f) => {
        if (f.data.name !== 'complaint') return f;
        const steps = f.data.steps.map((s) => (s.id === 'confirm' ? { ...s, id: 'check' } : s));
        return { ...f, data: { ...f.data, steps } };
      }),
    );
    const warn = vi.spyOn(logger, 'warn');

    const turn = await engine.respond(say('yes'), state);
    expect(turn.replies).toHaveLength(1);
    expect(turn.trace.actions.map((a) => a.action)).not.toContain('ticket.create');
    expect(turn.state.dialog?.flow.stack).toEqual([]);
    expect(staleWarnings(warn)).toEqual([
      { code: 'dialog.stale_flow', flow: 'complaint', step: 'confirm', reason: 'unknown_step' },
    ]);
  });

  it('keeps the valid frames of the stack and drops only the stale one', async () => {
    const actions = fixtureActions();
    const { flows } = await loadDialogKit(config, { actions });
    const runtime = new FlowRuntime(flows);
    const frame = (flow: string, step: string) => ({
      flow,
      step,
      slots: {},
      vars: {},
      attempts: 0,
      actionCount: 0,
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    const state = { stack: [frame('order_status', 'ask_order'), frame('gift_wrap', 'ask')] };
    const result = runtime.advance(
      state,
      { kind: 'message', text: 'AB12345678', language: 'en', entities: [], now: new Date().toISOString() },
      'en',
    );
    expect(result.dropped).toEqual([{ flow: 'gift_wrap', step: 'ask', reason: 'unknown_flow' }]);
    expect(result.state.stack.map((f) => f.flow)).toEqual(['order_status']);
    // The caller's state is not changed in place.
    expect(state.stack).toHaveLength(2);
  });
});
