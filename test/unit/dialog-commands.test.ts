import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErp, erpConfigSchema } from '../../adapters/erp';
import { DemoTicketing } from '../../adapters/ticketing';
import { parseConfig } from '../../core/config/load';
import { hubConfigSchema } from '../../core/config/schema';
import {
  type CommandInput,
  DialogCommands,
  SLOT_PENDING_ORDER,
  SLOT_TICKET,
} from '../../core/dialog/commands';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { OrderAccess } from '../../core/orders/access';
import { EmbeddedRetriever } from '../../core/rag';
import { createStore, type KyselyStore } from '../../core/store/index';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import { TicketService } from '../../core/tickets/service';
import { TicketDeliveryWorker } from '../../core/tickets/worker';
import { type DialogState, type InboundEvent, ORDER_ID_PATTERN } from '../../core/types';
import { type ErpEmulator, startErpEmulator } from '../emulators/erp-emulator';

let store: KyselyStore;
let outbox: TicketOutbox;
let tickets: TicketService;
let commands: DialogCommands;
let seq = 0;

const event = (text: string, conversation = 'c1', channelData?: Record<string, unknown>): InboundEvent => ({
  id: `e${++seq}`,
  kind: 'message',
  ref: { channel: 'webchat', tenant: 'default', conversation },
  sender: { id: `u-${conversation}`, name: 'Alex' },
  receivedAt: new Date().toISOString(),
  text,
  channelData,
});

async function say(
  state: DialogState,
  text: string,
  options: { conversation?: string; channelData?: Record<string, unknown>; c?: DialogCommands } = {},
) {
  const e = event(text, options.conversation, options.channelData);
  const input = { event: e, text, language: /[\u4e00-\u9fff]/.test(text) ? 'zh' : 'en', state } as const;
  const reply = await route(options.c ?? commands, input);
  return { reply: reply?.text, event: e };
}

/** What the engine's intents and flows send to the commands, by the same cues, for these tests. */
function route(c: DialogCommands, input: CommandInput) {
  if (/\bhuman\b|人工/i.test(input.text)) return c.handoff(input, 'customer_request');
  const orderId = ORDER_ID_PATTERN.exec(input.text.toUpperCase())?.[0];
  return orderId ? c.lookupOrder(input, orderId) : c.resumeProof(input);
}

beforeAll(async () => {
  store = await createStore(hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }));
  outbox = new TicketOutbox(store.db);
  tickets = new TicketService({ outbox, adapter: 'demo' });
  commands = new DialogCommands({
    orders: new OrderAccess(await createErp(erpConfigSchema.parse({})), 1000),
    tickets,
    maxVerificationAttempts: 3,
    ticketOnErpFailure: false,
  });
});
afterAll(async () => store?.close());

describe('order command', () => {
  it('asks for proof, locks after three wrong answers, and never shows the order', async () => {
    const state = emptyState('webchat:default:c1');
    expect((await say(state, 'where is my order XX12345678?')).reply).toMatch(/phone number or e-mail/);
    expect(state.slots[SLOT_PENDING_ORDER]).toBe('XX12345678');
    expect((await say(state, 'bob@example.com')).reply).toMatch(/2 tries left/);
    expect((await say(state, '+44 20 7946 0000')).reply).toMatch(/1 try left/);
    const locked = await say(state, 'nobody@example.net');
    expect(locked.reply).toMatch(/cannot verify/);
    // No order is pending any more: a bare e-mail is not an order question.
    expect((await say(state, 'alex@example.com')).reply).toBeUndefined();
    // Even the right answer is refused now, and the order id alone does not bypass the lock.
    expect((await say(state, 'XX12345678 alex@example.com')).reply).toMatch(/cannot verify/);
    expect(JSON.stringify(state.slots)).not.toContain('DHL');
  });

  it('shows the order to the channel-verified identity without asking, and remembers typed proof', async () => {
    const verified = emptyState('webchat:default:c2');
    const direct = await say(verified, 'XX12345678', {
      conversation: 'c2',
      channelData: { verified: { phone: '+1 555 0100' } },
    });
    expect(direct.reply).toMatch(/Order XX12345678 is shipped/);

    const typed = emptyState('webchat:default:c3');
    await say(typed, '订单 CN20261101', { conversation: 'c3' });
    expect((await say(typed, '我的邮箱是 xiaoming@example.cn', { conversation: 'c3' })).reply).toMatch(
      /已送达/,
    );
    // A second order of someone else is not shown on the strength of the first proof.
    expect((await say(typed, 'and AB00000001?', { conversation: 'c3' })).reply).toMatch(
      /phone number or e-mail/,
    );
  });

  it('leaves other messages to retrieval', async () => {
    const state = emptyState('webchat:default:c4');
    expect((await say(state, 'how long does shipping take?', { conversation: 'c4' })).reply).toBeUndefined();
    expect((await say(state, 'call me at 555 0100', { conversation: 'c4' })).reply).toBeUndefined();
  });
});

describe('handoff command', () => {
  it('opens one ticket per request, with transcript and entities, and sets handoff waiting', async () => {
    const state = emptyState('webchat:default:h1');
    state.history = [
      { role: 'user', text: 'my parcel XX12345678 is late, this is urgent', at: '2026-11-01T10:00:00Z' },
      { role: 'assistant', text: 'To protect your privacy…', at: '2026-11-01T10:00:01Z' },
    ];
    const first = await say(state, 'I want a human', { conversation: 'h1' });
    const reference = state.slots[SLOT_TICKET] as string;
    expect(first.reply).toContain(`ticket ${reference}`);
    expect(state.handoff).toBe('waiting');
    const request = await outbox.get(reference);
    expect(request?.draft.transcript.map((l) => l.text)).toEqual([
      'my parcel XX12345678 is late, this is urgent',
      'To protect your privacy…',
      'I want a human',
    ]);
    expect(request?.draft.entities).toEqual({ order_id: ['XX12345678'] });
    expect(request?.draft.priority).toBe('urgent');
    expect(request?.draft.category).toBe('orders');
    expect(request?.draft.subject).toContain('my parcel XX12345678 is late');

    // The same inbound event redelivered (a turn retried after a crash) finds the same request.
    const replay = await tickets.open(
      request?.draft ?? ({} as never),
      `webchat:default:h1|${first.event.id}`,
    );
    expect(replay).toMatchObject({ created: false, request: { id: reference } });
    // Asking again while waiting does not open a second ticket.
    expect((await say(state, '转人工', { conversation: 'h1' })).reply).toContain(reference);
    expect(await outbox.pending()).toBe(1);

    const worker = new TicketDeliveryWorker({
      outbox,
      adapters: { demo: new DemoTicketing(ticketDb(store.db)) },
      config: {
        timeoutMs: 1000,
        outbox: { pollMs: 50, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 10, leaseMs: 1000 },
        breaker: { failureThreshold: 3, resetMs: 1000 },
      },
    });
    expect(await worker.runOnce()).toBe(1);
  });
});

describe('ERP failure', () => {
  let emulator: ErpEmulator;
  let withTicket: DialogCommands;
  let withoutTicket: DialogCommands;
  beforeAll(async () => {
    emulator = await startErpEmulator({ clientId: 'hub', clientSecret: 'x' });
    const erp = await createErp(
      erpConfigSchema.parse({
        driver: 'rest',
        timeoutMs: 200,
        rest: { baseUrl: emulator.url, getOrder: { path: '/api/v1/sales-orders/{orderId}' } },
      }),
    );
    const access = new OrderAccess(erp, 200);
    withoutTicket = new DialogCommands({
      orders: access,
      tickets,
      maxVerificationAttempts: 3,
      ticketOnErpFailure: false,
    });
    withTicket = new DialogCommands({
      orders: access,
      tickets,
      maxVerificationAttempts: 3,
      ticketOnErpFailure: true,
    });
  });
  afterAll(async () => emulator?.close());

  it('tells the customer honestly when the ERP times out, and opens a ticket when configured', async () => {
    emulator.fail({ hang: true });
    const state = emptyState('webchat:default:f1');
    const plain = await say(state, 'XX12345678 alex@example.com', { conversation: 'f1', c: withoutTicket });
    expect(plain.reply).toMatch(/order system is not answering/);
    expect(state.handoff).toBe('bot');

    emulator.fail({ hang: true });
    const other = emptyState('webchat:default:f2');
    const ticketed = await say(other, 'XX12345678 alex@example.com', { conversation: 'f2', c: withTicket });
    expect(ticketed.reply).toMatch(/passed your question to our team \(reference HUB-/);
    const request = await outbox.get(other.slots[SLOT_TICKET] as string);
    expect(request?.draft.tags).toContain('erp_failure');
    expect(request?.draft.intent).toBe('order_status');
  });
});

describe('ERP circuit breaker', () => {
  let emulator: ErpEmulator;
  afterAll(async () => emulator?.close());

  it('fails fast once the ERP failed repeatedly, without waiting for its timeout', async () => {
    emulator = await startErpEmulator({ clientId: 'hub', clientSecret: 'x' });
    const erp = await createErp(
      erpConfigSchema.parse({
        driver: 'rest',
        timeoutMs: 300,
        rest: { baseUrl: emulator.url, getOrder: { path: '/api/v1/sales-orders/{orderId}' } },
      }),
    );
    const access = new OrderAccess(erp, 300, { failureThreshold: 2, resetMs: 60_000 });
    emulator.fail({ hang: true, times: 2 });
    for (let i = 0; i < 2; i += 1) {
      await expect(access.lookup('XX12345678', { email: 'alex@example.com' }, 'd')).rejects.toMatchObject({
        code: 'adapter.timeout',
      });
    }
    const requestsBefore = emulator.requests.length;
    const started = Date.now();
    await expect(access.lookup('XX12345678', { email: 'alex@example.com' }, 'd')).rejects.toMatchObject({
      code: 'adapter.circuit_open',
    });
    expect(Date.now() - started).toBeLessThan(100);
    expect(emulator.requests.length).toBe(requestsBefore);
  });
});

describe('handoff through the engine', () => {
  it('keeps one record of the handoff: ticket and time in the saved state, no flow left waiting', async () => {
    const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
    const c = new DialogCommands({ tickets, maxVerificationAttempts: 3, ticketOnErpFailure: false });
    const engine = new DialogEngine({
      config,
      retriever: new EmbeddedRetriever(),
      commands: c,
      dialog: await loadDialogKit(config, { commands: c }),
    });
    let state = emptyState('webchat:default:h2');
    const turn = async (text: string) => {
      const result = await engine.respond(event(text, 'h2'), state);
      state = result.state;
      return result;
    };
    await turn('I want to talk to a human');
    expect(state.handoff).toBe('waiting');
    const reference = state.slots[SLOT_TICKET];
    expect(state.dialog?.ticket).toEqual({ adapter: 'demo', id: reference });
    expect(state.dialog?.handoffAt).toEqual(expect.any(String));
    expect(state.dialog?.flow.stack).toEqual([]);

    await turn('cancel');
    expect(state.handoff).toBe('bot');
    // Back with the bot, a question is a question: no handoff action is still pending.
    const after = await turn('how long does shipping take?');
    expect(after.trace.replyKeys).not.toContain('flow.pleaseWait');
    expect(after.trace.actions.map((a) => a.action)).toEqual(['answer']);
  });
});
