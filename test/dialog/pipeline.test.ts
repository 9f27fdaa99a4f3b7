import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { compose, insertAfter, insertBefore, type NamedStage } from '../../core/dialog/compose';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { ActionRegistry } from '../../core/dialog/flows/actions';
import { loadDialogKit } from '../../core/dialog/setup';
import { createTurnContext, sayText } from '../../core/dialog/turn-context';
import { EmbeddedRetriever } from '../../core/rag';
import { type DialogState, HubError, type InboundEvent } from '../../core/types';

const ref = { channel: 'test', tenant: 'default', conversation: 'pipeline' };
let seq = 0;
const message = (text: string, extra: Partial<InboundEvent> = {}): InboundEvent => ({
  id: `pipeline:${++seq}`,
  kind: 'message',
  ref,
  sender: { id: 'customer' },
  receivedAt: new Date().toISOString(),
  text,
  ...extra,
});

/** The shipped dialog, with the knowledge answer replaced by a fixture that knows one thing. */
async function engineWith(stages?: (defaults: NamedStage[]) => NamedStage[]) {
  const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
  const actions = new ActionRegistry()
    .register('answer', async (params) =>
      /invoice/i.test(params.query ?? '')
        ? { ok: true, data: { text: 'Invoices are on the order page.', source: 'extractive' } }
        : { ok: false, error: 'nothing relevant' },
    )
    .register('handoff', async () => ({ ok: true, data: { reference: 'T-1' } }));
  return new DialogEngine({
    config,
    retriever: new EmbeddedRetriever(),
    dialog: await loadDialogKit(config, { actions }),
    stages,
  });
}

describe('the dialog turn as stages', () => {
  it('runs the default stages in the order of the turn', async () => {
    const engine = await engineWith();
    expect(engine.stageNames).toEqual([
      'render',
      'safetyOutput',
      'survey',
      'helpdeskUpdate',
      'addressed',
      'idleReturn',
      'staleFlows',
      'preprocess',
      'safetyInput',
      'proofResume',
      'cancelWhileWaiting',
      'smallTalk',
      'rewrite',
      'recognize',
      'decide',
      'handoff',
      'flow',
      'answer',
    ]);
  });

  it('lets a deployment insert a stage that answers a keyword itself and ends the turn, after preprocessing', async () => {
    const seen: { language?: string; intentKnown: boolean }[] = [];
    const storeHours: NamedStage = {
      name: 'storeHours',
      run: async (turn, next) => {
        // Runs after preprocess (the language is known) and before intent recognition.
        seen.push({ language: turn.pre?.language, intentKnown: turn.trace.intent !== undefined });
        if (!turn.pre?.folded.includes('store hours')) return next();
        sayText(turn, turn.language === 'zh' ? '门店每天 9 点营业。' : 'Our stores open at 9 every day.');
      },
    };
    const engine = await engineWith((defaults) => insertBefore(defaults, 'rewrite', storeHours));
    expect(engine.stageNames.indexOf('storeHours')).toBe(engine.stageNames.indexOf('rewrite') - 1);

    const hours = await engine.respond(message('What are your store hours?'), emptyState('k1'));
    expect(hours.trace.texts).toEqual(['Our stores open at 9 every day.']);
    // The chain stopped: no intent, no policy decision, no knowledge look-up.
    expect(hours.trace.intent).toBeUndefined();
    expect(hours.trace.decision).toBeUndefined();
    expect(hours.trace.actions).toEqual([]);
    // Rendering still wraps the turn: one reply, and the turn is in the history.
    expect(hours.replies).toHaveLength(1);
    expect(hours.replies[0]?.content).toEqual({
      type: 'text',
      text: 'Our stores open at 9 every day.',
      format: 'markdown',
    });
    expect(hours.state.history.map((t) => t.role)).toEqual(['user', 'assistant']);

    const other = await engine.respond(message('Can I get an invoice?'), emptyState('k2'));
    expect(other.trace.actions.map((a) => a.action)).toEqual(['answer']);
    expect(other.trace.texts[0]).toBe('Invoices are on the order page.');
    expect(seen).toEqual([
      { language: 'en', intentKnown: false },
      { language: 'en', intentKnown: false },
    ]);
  });

  it('lets a stage observe every turn, helpdesk updates and group chatter included, and see its replies', async () => {
    const observed: { id: string; kind: string; keys: string[] }[] = [];
    const audit: NamedStage = {
      name: 'audit',
      run: async (turn, next) => {
        await next();
        observed.push({ id: turn.event.id, kind: turn.event.kind, keys: turn.replies.map((r) => r.key) });
      },
    };
    const engine = await engineWith((defaults) => insertAfter(defaults, 'render', audit));
    let state: DialogState = emptyState('k3');
    const events: InboundEvent[] = [
      message('I want a human'),
      {
        ...message(''),
        kind: 'handoff',
        text: undefined,
        handoff: { change: 'reply', adapter: 'demo', ticketId: '1', text: 'Hello, this is Sam.' },
      },
      message('chatter between colleagues', { addressedToBot: false }),
    ];
    for (const event of events) state = (await engine.respond(event, state)).state;
    expect(observed.map((o) => [o.id, o.kind])).toEqual(events.map((e) => [e.id, e.kind]));
    expect(observed[0]?.keys).toContain('flows.handoff.queued');
    expect(observed[1]?.keys).toEqual(['policy.text']);
    expect(observed[2]?.keys).toEqual([]);
    expect(state.handoff).toBe('human');
  });

  it("marks an agent's reply as the agent's and says a person owns the conversation", async () => {
    const engine = await engineWith();
    let state: DialogState = emptyState('k-agent');
    state = (await engine.respond(message('I want a human'), state)).state;
    const update = (change: 'reply' | 'assigned', text?: string): InboundEvent => ({
      ...message(''),
      kind: 'handoff',
      text,
      handoff: { change, adapter: 'demo', ticketId: '7', agentName: 'Sam Wu', ...(text ? { text } : {}) },
    });
    const joined = await engine.respond(update('assigned'), state);
    expect(joined.replies[0]).toMatchObject({ source: 'agent', handoff: 'human' });
    // Their joining is the bot's notice, not the agent's words.
    expect(joined.replies[0]?.author).toBeUndefined();
    const reply = await engine.respond(update('reply', 'Hello, this is Sam.'), joined.state);
    expect(reply.replies[0]).toMatchObject({
      source: 'agent',
      author: { kind: 'agent', name: 'Sam Wu' },
      handoff: 'human',
    });
  });

  it('leaves the current ticket alone when an older ticket is solved', async () => {
    const engine = await engineWith();
    const state = emptyState('k-older');
    state.handoff = 'waiting';
    state.slots = { 'ticket.reference': 'HUB-NEW' };
    const solved = (requestId: string): InboundEvent => ({
      ...message(''),
      kind: 'handoff',
      text: undefined,
      handoff: { change: 'solved', adapter: 'demo', ticketId: '1' },
      channelData: { helpdesk: { source: 'demo', requestId } },
    });
    const older = await engine.respond(solved('HUB-OLD'), state);
    expect(older.state.handoff).toBe('waiting');
    expect(older.state.slots['ticket.reference']).toBe('HUB-NEW');
    expect(older.replies).toEqual([]);
    const current = await engine.respond(solved('HUB-NEW'), older.state);
    expect(current.state.handoff).toBe('bot');
    expect(current.state.slots['ticket.reference']).toBeUndefined();
    expect(current.replies[0]?.handoff).toBeUndefined();
  });

  it('names the stages when an insertion point does not exist', async () => {
    const engine = engineWith((defaults) =>
      insertBefore(defaults, 'guardrail', { name: 'x', run: (_turn, next) => next() }),
    );
    await expect(engine).rejects.toThrow(/No dialog stage is called "guardrail"; the stages are: render, /);
    await expect(engine).rejects.toBeInstanceOf(HubError);
  });

  it('refuses a stage that calls next twice', async () => {
    const twice: NamedStage = {
      name: 'twice',
      run: async (_turn, next) => {
        await next();
        await next();
      },
    };
    const run = compose([twice, { name: 'end', run: async () => {} }]);
    const turn = createTurnContext(message('hi'), emptyState('k4'), new Date());
    await expect(run(turn)).rejects.toMatchObject({ code: 'dialog.next_twice' });
  });
});
