import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { scratchDatabase } from '../support/postgres';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * The whole handoff loop through a real `hub start` (PostgreSQL, embedded bus and helpdesk): a web
 * chat customer asks for a person, the ticket lands in the demo helpdesk, an agent takes it and
 * replies from the agent console's admin routes, the customer sees the reply on the web chat, the
 * bot stays quiet while the agent owns the conversation, what the customer writes meanwhile shows on
 * the ticket as their comments, and the bot answers again once the ticket is solved.
 */
const database = scratchDatabase('hub_handoff_e2e');

interface DeskTicket {
  id: string;
  reference: string;
  channel: string;
  comments: Array<{ author: string; text: string; public: boolean }>;
}

interface Frame {
  type: string;
  message?: { content?: { text?: string }; source?: string; locale?: string };
  [key: string]: unknown;
}

let hub: HubProcess | undefined;
let socket: WebSocket | undefined;
const frames: Frame[] = [];

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${hub?.output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The next reply frame the customer's browser gets (frames before it are consumed). */
async function nextReply(what: string, timeoutMs = 30_000): Promise<NonNullable<Frame['message']>> {
  return until(
    what,
    () => {
      const at = frames.findIndex((f) => f.type === 'reply');
      if (at < 0) return undefined;
      const [frame] = frames.splice(0, at + 1).slice(-1);
      return frame?.message ?? {};
    },
    timeoutMs,
  );
}

async function adminPost(path: string, body: unknown) {
  const response = await fetch(`${hub?.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function say(id: string, text: string) {
  socket?.send(JSON.stringify({ type: 'message', id, text, locale: 'en' }));
}

beforeAll(async () => {
  await database.create();
  const config = writeConfig({
    database: { driver: 'postgres', url: database.url },
    ticketing: { driver: 'demo', outbox: { pollMs: 100 } },
    channels: [{ id: 'webchat', type: 'webchat' }],
  });
  // No HUB_ADMIN_TOKEN: the admin routes answer loopback clients, which this test is.
  hub = await startHubProcess(config, [], { HUB_ADMIN_TOKEN: '' });
  socket = new WebSocket(`${hub.url.replace('http', 'ws')}/webchat/webchat/ws`);
  socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
  await new Promise((resolve, reject) => {
    socket?.once('open', resolve);
    socket?.once('error', reject);
  });
}, 180_000);

afterAll(async () => {
  socket?.close();
  await hub?.stop('SIGTERM');
  await database.drop();
});

describe('handoff to a human and back', { timeout: 120_000 }, () => {
  it('carries agent replies to the web chat customer and returns the conversation to the bot', async () => {
    say('m-0', 'How long does standard shipping take?');
    expect((await nextReply('the bot answering before the handoff')).content?.text).toMatch(/day/i);

    say('m-1', 'I want to talk to a human');
    const opened = await nextReply('the handoff confirmation');
    const reference = /HUB-[0-9A-Z]{8}/.exec(opened.content?.text ?? '')?.[0];
    expect(reference, opened.content?.text).toBeDefined();

    // The outbox delivers the ticket to the demo helpdesk; the console lists it.
    const ticket = await until('the ticket in the agent console', async () => {
      const response = await fetch(`${hub?.url}/admin/tickets`);
      const { tickets } = (await response.json()) as { tickets: DeskTicket[] };
      return tickets.find((t) => t.reference === reference);
    });
    expect(ticket.channel).toBe('webchat');

    // Waiting for an agent, the customer adds a detail: told to wait, and the detail goes on the ticket.
    say('m-1b', 'The parcel XX12345678 arrived broken');
    expect((await nextReply('the waiting notice')).content?.text).toContain(reference);

    const taken = await adminPost(`/admin/tickets/${ticket.id}/assign`, { agent: 'Bo Li' });
    expect(taken.status).toBe(200);
    const joined = await nextReply('the agent-joined notice');
    expect(joined.content?.text).toMatch(/agent Bo Li has joined/);

    const reply = await adminPost(`/admin/tickets/${ticket.id}/reply`, {
      agent: 'Bo Li',
      text: 'Hi, Bo here. Your refund was sent this morning.',
    });
    expect(reply.status).toBe(200);
    const delivered = await nextReply("the agent's reply");
    expect(delivered.content?.text).toBe('Hi, Bo here. Your refund was sent this morning.');
    expect(delivered.source).toBe('agent');

    // While the agent owns the conversation the bot stays quiet: events of one conversation run in
    // order, so the next reply the customer sees is the one the solve produces, not a bot answer.
    say('m-2', 'How long does standard shipping take?');
    await until('the ack of the customer message', () =>
      frames.find((f) => f.type === 'ack' && f.id === 'm-2'),
    );
    // The agent sees both messages on the ticket, as the customer's public comments, in order.
    const customerSaid = await until('the customer messages on the ticket', async () => {
      const { tickets } = (await (await fetch(`${hub?.url}/admin/tickets`)).json()) as {
        tickets: DeskTicket[];
      };
      const comments = tickets.find((t) => t.id === ticket.id)?.comments ?? [];
      const texts = comments.filter((c) => c.author === 'customer' && c.public).map((c) => c.text);
      return texts.length >= 2 ? texts : undefined;
    });
    expect(customerSaid).toEqual([
      'The parcel XX12345678 arrived broken',
      'How long does standard shipping take?',
    ]);
    const solved = await adminPost(`/admin/tickets/${ticket.id}/solve`, { agent: 'Bo Li' });
    expect(solved.status).toBe(200);
    const back = await nextReply('the back-to-the-bot notice');
    expect(back.content?.text).toMatch(/finished with this conversation/);

    const metrics = await (await fetch(`${hub?.url}/metrics`)).text();
    expect(metrics).toMatch(/hub_helpdesk_updates_total\{source="demo",outcome="accepted"\} 3/);
  });

  it('answers from the knowledge base again once the ticket is solved', async () => {
    say('m-3', 'How long does standard shipping take?');
    const answer = await nextReply('the bot answering again');
    expect(answer.source).not.toBe('agent');
    expect(answer.content?.text).toMatch(/day/i);
  });
});
