import { describe, expect, it } from 'vitest';
import type { TurnResult } from '../../core/dialog/engine';
import { buildFlowSet } from '../../core/dialog/flows/load';
import { emptyFlowState, FlowRuntime } from '../../core/dialog/flows/runtime';
import type { InboundEvent } from '../../core/types';
import { renderAsText } from '../../core/types';
import { ScriptedConversation } from './harness';

/**
 * Confirm steps and slots with a closed set of values offer their answers as `choices`, which the
 * connectors render as buttons; a tap comes back as an action event carrying the choice id.
 */

const orders = { AB12345678: { status: { zh: '已发货', en: 'shipped' } } };
let seq = 0;

async function conversation() {
  return ScriptedConversation.create({ orders }, { name: 'choices', turns: [] });
}

/** What the customer sends: typed text, or a tap (as Telegram sends it: the id, nothing else). */
async function send(c: ScriptedConversation, input: { text: string } | InboundEvent['action']) {
  const ref = { channel: 'test', tenant: 'default', conversation: 'script' };
  const base = {
    id: `choices:${++seq}`,
    ref,
    sender: { id: 'customer' },
    receivedAt: new Date(c.clock).toISOString(),
  };
  const event: InboundEvent =
    input && 'text' in input
      ? { ...base, kind: 'message', text: input.text }
      : { ...base, kind: 'action', action: input };
  c.clock += 60_000;
  const result = await c.engine.respond(event, c.state);
  c.state = result.state;
  return result;
}

const contentOf = (turn: TurnResult) => turn.replies[0]?.content;

describe('choices in replies', () => {
  it('a confirm step offers 是/否 in Chinese; tapping 是 confirms, and the reply text is unchanged', async () => {
    const c = await conversation();
    await send(c, { text: '我要投诉' });
    await send(c, { text: '快递员把包裹扔在门口就走了' });
    const confirm = await send(c, { text: '13812345678' });
    expect(confirm.trace.replyKeys).toEqual(['flows.complaint.confirm']);
    expect(contentOf(confirm)).toEqual({
      type: 'choices',
      text: confirm.trace.texts.join('\n\n'),
      choices: [
        { id: 'yes', title: '是' },
        { id: 'no', title: '否' },
      ],
    });
    // Where a channel has no buttons, the base renderer lists them under the same text.
    expect(renderAsText(contentOf(confirm) ?? { type: 'typing' })).toMatch(/确认提交吗？\n1\. 是\n2\. 否$/);

    const tapped = await send(c, { id: 'yes', value: 'yes' });
    expect(tapped.trace.actions.map((a) => a.action)).toEqual(['ticket.create']);
    expect(tapped.trace.texts[0]).toContain('投诉已提交');
    // The tap reads as the button's words in the conversation's language.
    expect(tapped.state.locale).toBe('zh');
    expect(tapped.state.history.at(-2)).toMatchObject({ role: 'user', text: '是' });
    expect(contentOf(tapped)?.type).toBe('text');
  });

  it('tapping No on an English confirm step takes the no way of the step (here: cancel)', async () => {
    const c = await conversation();
    await send(c, { text: 'I want to exchange the shoes from order AB12345678 for a bigger size' });
    const confirm = await send(c, { text: 'they are too small' });
    expect(contentOf(confirm)).toMatchObject({
      type: 'choices',
      choices: [
        { id: 'yes', title: 'Yes' },
        { id: 'no', title: 'No' },
      ],
    });
    // Teams sends the shown title as text and the id in the card's data.
    const tapped = await send(c, { id: 'no', title: 'No', value: { hubAction: 'no' } });
    expect(tapped.trace.actions).toEqual([]);
    expect(tapped.trace.signals).toContain('cancelled');
    expect(c.state.dialog?.flow.stack).toEqual([]);
  });

  it('a slot with a closed set of values offers them; a tap fills the slot with the value', async () => {
    const c = await conversation();
    await send(c, { text: 'I want to return or exchange my shoes' });
    const asked = await send(c, { text: 'AB12345678' });
    expect(asked.trace.replyKeys.at(-1)).toBe('flows.return_exchange.slots.kind.prompt');
    expect(contentOf(asked)).toEqual({
      type: 'choices',
      text: asked.trace.texts.join('\n\n'),
      choices: [
        { id: 'return', title: 'Return' },
        { id: 'exchange', title: 'Exchange' },
      ],
    });
    // The web chat sends the action id and the title.
    const tapped = await send(c, { id: 'exchange', title: 'Exchange' });
    expect(c.state.dialog?.flow.stack.at(-1)?.slots).toMatchObject({ kind: 'exchange' });
    expect(tapped.trace.replyKeys).toEqual(['flows.return_exchange.slots.reason.prompt']);
    expect(contentOf(tapped)?.type).toBe('text');
  });

  it('in Chinese the slot buttons carry the Chinese titles, and typing the number of one picks it', async () => {
    const c = await conversation();
    await send(c, { text: '我要退换货' });
    const asked = await send(c, { text: 'AB12345678' });
    expect(asked.trace.replyKeys.at(-1)).toBe('flows.return_exchange.slots.kind.prompt');
    expect(contentOf(asked)).toMatchObject({
      choices: [
        { id: 'return', title: '退货' },
        { id: 'exchange', title: '换货' },
      ],
    });
    await send(c, { text: '1' });
    expect(c.state.dialog?.flow.stack.at(-1)?.slots).toMatchObject({ kind: 'return' });
  });

  it('a tap that matches no offered choice is said to be unusable, never read as words or as an empty message', async () => {
    const c = await conversation();
    // No flow waits for an answer: the old "yes" button of an earlier question offers nothing now.
    const stale = await send(c, { id: 'yes', value: 'yes' });
    expect(stale.trace.texts).toEqual([
      "Sorry, I can't use that button now. Could you tell me in words what you need?",
    ]);
    expect(stale.trace.actions).toEqual([]);
    // A Teams Adaptive Card submit: an object value, no title, no text.
    await send(c, { text: '我要投诉' });
    const card = await send(c, { id: 'submit', value: { comment: '' } });
    expect(card.trace.texts[0]).toBe('抱歉，这个按钮现在用不了。我刚才的问题是：');
    // ...and the question the conversation waits on, again.
    expect(card.trace.replyKeys).toEqual(['policy.text', 'flows.complaint.slots.description.prompt']);
    expect(card.trace.texts.join('\n')).not.toMatch(/empty message|空消息|object Object/);
    expect(c.state.dialog?.flow.stack.map((f) => f.flow)).toEqual(['complaint']);
  });

  it('a Yes or No button answers "did that help?" even though it is asked as plain text', async () => {
    const c = await ScriptedConversation.create(
      { knowledge: [{ keywords: ['invoice'], zh: '可以开发票。', en: 'Invoices are on the order page.' }] },
      { name: 'feedback tap', turns: [] },
    );
    const answered = await send(c, { text: 'can I get an invoice?' });
    expect(answered.trace.texts.at(-1)).toBe('Did that answer your question?');
    const tapped = await send(c, { id: 'yes', title: 'Yes' });
    expect(tapped.trace.signals).toContain('helpful');
    expect(tapped.trace.texts).toEqual(['Glad I could help!']);
  });

  it('a confirm step with buttons: false says its question as plain text', () => {
    const survey = (name: string, buttons?: boolean) => ({
      name,
      title: { zh: '调查', en: 'survey' },
      trigger: { intents: [name] },
      steps: [
        {
          id: 'happy',
          type: 'confirm',
          buttons,
          message: { zh: '满意吗？', en: 'Happy?' },
          yes: 'end',
          no: 'end',
        },
      ],
    });
    const runtime = new FlowRuntime(
      buildFlowSet([
        { source: 'quiet.yaml', data: survey('quiet', false) },
        { source: 'default.yaml', data: survey('default') },
      ]),
    );
    const start = (intent: string) =>
      runtime.advance(
        emptyFlowState(),
        {
          kind: 'message',
          text: intent,
          language: 'en',
          entities: [],
          intent: { name: intent, confidence: 1 },
          now: new Date().toISOString(),
        },
        'en',
      ).replies;
    expect(start('quiet').map((r) => [r.key, r.choices])).toEqual([['flows.quiet.happy', undefined]]);
    expect(start('default').map((r) => [r.key, r.choices?.map((c) => c.id)])).toEqual([
      ['flows.default.happy', ['yes', 'no']],
    ]);
  });
});
