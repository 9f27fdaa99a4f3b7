import { describe, expect, it } from 'vitest';
import { ActionRegistry, BUILT_IN_ACTIONS } from '../../core/dialog/flows/actions';
import { buildFlowSet, loadFlows } from '../../core/dialog/flows/load';
import { renderReply } from '../../core/dialog/flows/messages';
import { emptyFlowState, FlowRuntime, type TurnInput } from '../../core/dialog/flows/runtime';
import { preprocess } from '../../core/dialog/preprocess';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
const say = (text: string, minutes = 0, intent?: string): TurnInput => {
  const pre = preprocess(text, { now: new Date(t0) });
  return {
    kind: 'message',
    text: pre.text,
    language: pre.language,
    entities: pre.entities,
    intent: intent ? { name: intent, confidence: 0.95, tier: 'rules' } : undefined,
    now: at(minutes),
  };
};

const ticketFlow = {
  name: 'ticket',
  title: { zh: '工单', en: 'ticket' },
  trigger: { intents: ['open_ticket'] },
  timeoutMinutes: 5,
  slots: [
    { name: 'email', entity: 'email', prompt: { zh: '邮箱？', en: 'E-mail?' }, maxAttempts: 2 },
    { name: 'code', pattern: '\\b(?<value>[A-Z]{3}-\\d{3})\\b', prompt: { zh: '代码？', en: 'Code?' } },
  ],
  steps: [
    { id: 'ask', type: 'ask', slots: ['email', 'code'] },
    {
      id: 'check',
      type: 'confirm',
      message: { zh: '提交 {code}？', en: 'Submit {code} for {email}?' },
      yes: 'create',
    },
    {
      id: 'create',
      type: 'action',
      action: 'ticket.create',
      params: { email: '{email}', code: '{code}' },
      saveAs: 'ticket',
    },
    { id: 'done', type: 'end', message: { zh: '工单 {ticket.id}', en: 'Ticket {ticket.id}' } },
  ],
};

describe('flow definitions', () => {
  it('the shipped flows load, and every message exists in both languages', async () => {
    const set = await loadFlows('config/flows');
    expect([...set.flows.keys()].sort()).toEqual([
      'complaint',
      'faq',
      'handoff',
      'order_status',
      'return_exchange',
    ]);
    for (const [key, message] of set.catalog) {
      expect(message.zh, key).toBeTruthy();
      expect(message.en, key).toBeTruthy();
    }
  });

  it('refuses an irreversible action that is not reached from a confirm step, naming file and step', () => {
    const unconfirmed = { ...ticketFlow, steps: ticketFlow.steps.filter((s) => s.id !== 'check') };
    expect(() => buildFlowSet([{ source: 'ticket.yaml', data: unconfirmed }])).toThrow(
      /ticket\.yaml: steps\.1: "ticket\.create" cannot be undone.*reached from: ask/s,
    );
  });

  it('explains schema errors: unknown targets, undeclared slots, slot validators, unknown actions', () => {
    const broken = {
      ...ticketFlow,
      slots: [{ name: 'email', prompt: { zh: 'x', en: 'x' } }, ...ticketFlow.slots.slice(1)],
      steps: [
        { id: 'ask', type: 'ask', slots: ['email', 'phone'] },
        { id: 'check', type: 'confirm', message: { zh: 'x', en: 'x' }, yes: 'nowhere' },
        { id: 'go', type: 'action', action: 'erp.teleport' },
      ],
    };
    let message = '';
    try {
      buildFlowSet([{ source: 'broken.yaml', data: broken }]);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/slot "email" needs exactly one of entity, pattern, choices or freeText/);
    expect(message).toMatch(/steps\.0\.slots\.1: slot "phone" is not declared/);
    expect(message).toMatch(/steps\.1\.yes: "nowhere" is not a step of flow ticket/);
    const badAction = { ...ticketFlow, steps: [{ id: 'go', type: 'action', action: 'erp.teleport' }] };
    expect(() => buildFlowSet([{ source: 'a.yaml', data: badAction }])).toThrow(
      /unknown action "erp\.teleport"/,
    );
    expect(() =>
      buildFlowSet([{ source: 'a.yaml', data: { ...ticketFlow, title: { en: 'only English' } } }]),
    ).toThrow(/title\.zh/);
  });

  it('two flows may not share a trigger intent', () => {
    expect(() =>
      buildFlowSet([
        { source: 'a.yaml', data: ticketFlow },
        { source: 'b.yaml', data: { ...ticketFlow, name: 'other' } },
      ]),
    ).toThrow(/intent "open_ticket" already starts flow "ticket"/);
  });
});

describe('flow runtime', () => {
  const set = buildFlowSet([{ source: 'ticket.yaml', data: ticketFlow }]);
  const runtime = new FlowRuntime(set);
  const render = (key: string, params: Record<string, string>) =>
    renderReply({ key, params }, 'en', set.catalog);

  it('asks exactly the missing slot, fills several from one message, confirms, then emits the action', () => {
    let r = runtime.advance(emptyFlowState(), say('open a ticket please', 0, 'open_ticket'), 'en');
    expect(r.replies.map((x) => render(x.key, x.params))).toEqual(['E-mail?']);
    expect(r.actions).toEqual([]);
    r = runtime.advance(r.state, say('ada@example.com, code ABC-123', 1), 'en');
    expect(r.state.stack[0]?.slots).toEqual({ email: 'ada@example.com', code: 'ABC-123' });
    expect(r.replies.map((x) => render(x.key, x.params))).toEqual(['Submit ABC-123 for ada@example.com?']);
    expect(r.actions).toEqual([]);
    r = runtime.advance(r.state, say('yes', 2), 'en');
    expect(r.actions).toEqual([
      {
        id: 'ticket:create:1',
        action: 'ticket.create',
        params: { email: 'ada@example.com', code: 'ABC-123' },
        irreversible: true,
        flow: 'ticket',
        step: 'create',
      },
    ]);
    // A message while the action runs does not advance the flow.
    const busy = runtime.advance(r.state, say('hello?', 2), 'en');
    expect(busy.replies.map((x) => x.key)).toEqual(['flow.pleaseWait']);
    expect(busy.actions).toEqual([]);
    r = runtime.advance(
      r.state,
      { kind: 'action_result', requestId: 'ticket:create:1', ok: true, data: { id: 'T-7' }, now: at(3) },
      'en',
    );
    expect(r.replies.map((x) => render(x.key, x.params))).toEqual(['Ticket T-7']);
    expect(r.signals).toContain('completed');
    expect(r.state.stack).toEqual([]);
  });

  it('is pure: the input state is not changed', () => {
    const first = runtime.advance(emptyFlowState(), say('x', 0, 'open_ticket'), 'en');
    const snapshot = structuredClone(first.state);
    runtime.advance(first.state, say('ada@example.com', 1), 'en');
    expect(first.state).toEqual(snapshot);
  });

  it('re-asks on an invalid answer, then gives up after maxAttempts', () => {
    let r = runtime.advance(emptyFlowState(), say('x', 0, 'open_ticket'), 'en');
    r = runtime.advance(r.state, say('my mail is ada at example', 1), 'en');
    expect(r.signals).toEqual(['slot_invalid']);
    expect(r.replies.map((x) => x.key)).toEqual(['flows.ticket.slots.email.prompt']);
    r = runtime.advance(r.state, say('no idea', 2), 'en');
    expect(r.signals).toContain('slot_failed');
    expect(r.state.stack).toEqual([]);
  });

  it('a "no" at the confirm step cancels by default and emits nothing', () => {
    let r = runtime.advance(emptyFlowState(), say('ada@example.com ABC-123', 0, 'open_ticket'), 'en');
    r = runtime.advance(r.state, say('不用了', 1), 'zh');
    expect(r.actions).toEqual([]);
    expect(r.signals).toContain('cancelled');
    expect(r.replies.map((x) => renderReply(x, 'zh', set.catalog))).toEqual(['好的，已取消「工单」。']);
  });

  it('an unclear answer to a confirm step asks for yes or no', () => {
    let r = runtime.advance(emptyFlowState(), say('ada@example.com ABC-123', 0, 'open_ticket'), 'en');
    r = runtime.advance(r.state, say('hmm, maybe tomorrow or the day after', 1), 'en');
    expect(r.replies.map((x) => x.key)).toEqual(['flow.yesOrNo', 'flows.ticket.check']);
    expect(r.actions).toEqual([]);
  });

  it('expires an idle flow at the next message and handles the message afresh', () => {
    let r = runtime.advance(emptyFlowState(), say('x', 0, 'open_ticket'), 'en');
    r = runtime.advance(r.state, say('ada@example.com', 6), 'en');
    expect(r.signals).toEqual(['expired', 'not_handled']);
    expect(r.handled).toBe(false);
    expect(r.state.stack).toEqual([]);
  });

  it('a failed action without onError ends the flow with an apology', () => {
    let r = runtime.advance(emptyFlowState(), say('ada@example.com ABC-123', 0, 'open_ticket'), 'en');
    r = runtime.advance(r.state, say('yes', 1), 'en');
    r = runtime.advance(
      r.state,
      { kind: 'action_result', requestId: 'ticket:create:1', ok: false, error: '503', now: at(2) },
      'en',
    );
    expect(r.signals).toContain('action_failed');
    expect(r.replies.map((x) => x.key)).toEqual(['flow.actionFailed']);
    expect(r.state.stack).toEqual([]);
  });

  it('ignores a stale action result', () => {
    const r = runtime.advance(
      emptyFlowState(),
      { kind: 'action_result', requestId: 'nope', ok: true, now: at(0) },
      'en',
    );
    expect(r.handled).toBe(false);
  });

  it('refuses at run time to emit an irreversible action that was not confirmed', () => {
    // A state that skipped the confirm step (corrupted, or edited by hand): the guard holds.
    const state = {
      stack: [
        {
          flow: 'ticket',
          step: 'create',
          slots: { email: 'a@b.cn', code: 'ABC-123' },
          vars: {},
          attempts: 0,
          actionCount: 0,
          startedAt: at(0),
          updatedAt: at(0),
        },
      ],
    };
    const r = runtime.advance(state, say('go on', 1), 'en');
    expect(r.actions).toEqual([]);
    expect(r.replies.map((x) => x.key)).toContain('flow.notConfirmed');
  });
});

describe('action registry', () => {
  it('runs registered actions and turns errors into failed outcomes', async () => {
    const registry = new ActionRegistry();
    registry.register('erp.lookupOrder', async (params) => ({ ok: true, data: { id: params.orderId } }));
    registry.register('handoff', async () => {
      throw new Error('queue down');
    });
    const request = {
      id: 'r1',
      action: 'erp.lookupOrder',
      params: { orderId: 'AB12345678' },
      irreversible: false,
      flow: 'f',
      step: 's',
    };
    const context = { conversationKey: 'k', language: 'en' as const };
    expect(await registry.run(request, context)).toEqual({ ok: true, data: { id: 'AB12345678' } });
    expect(await registry.run({ ...request, action: 'handoff' }, context)).toMatchObject({
      ok: false,
      error: 'queue down',
    });
    expect(await registry.run({ ...request, action: 'ticket.create' }, context)).toMatchObject({ ok: false });
    expect(() => registry.register('erp.teleport', async () => ({ ok: true, data: {} }))).toThrow(
      /has no spec/,
    );
    expect(BUILT_IN_ACTIONS.filter((a) => a.irreversible).map((a) => a.name)).toEqual(['ticket.create']);
  });
});
