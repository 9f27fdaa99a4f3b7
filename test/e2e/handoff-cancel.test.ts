import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { freePort } from '../support/oidc-provider';
import { type WebchatCustomer, waitFor, webchatCustomer } from '../support/webchat-customer';

/**
 * A web chat customer asks for a person, then calls it off while waiting, through an in-process hub
 * with the demo helpdesk: the ticket's subject is the customer's question (not the e-mail address
 * typed last), its summary the bot's case summary, and the cancellation leaves the bot's note on the
 * ticket and the ticket solved.
 */

interface DeskTicket {
  id: string;
  reference: string;
  subject: string;
  status: string;
  summary: string;
  comments: Array<{ author: string; text: string; public: boolean }>;
}

let hub: RunningHub | undefined;
let customer: WebchatCustomer | undefined;
let savedToken: string | undefined;
const until = waitFor;
const nextReply = (what: string) => (customer as WebchatCustomer).nextReply(what);
const say = (id: string, text: string) => customer?.say(text, id);

async function deskTicket(reference: string): Promise<DeskTicket | undefined> {
  const { tickets } = (await (await fetch(`${hub?.url}/admin/tickets`)).json()) as { tickets: DeskTicket[] };
  return tickets.find((t) => t.reference === reference);
}

beforeAll(async () => {
  savedToken = process.env.HUB_ADMIN_TOKEN;
  // No admin token: the admin routes answer loopback clients, which this test is.
  process.env.HUB_ADMIN_TOKEN = '';
  hub = await startHub(
    hubConfigSchema.parse({
      server: { port: await freePort() },
      database: { driver: 'pglite', dataDir: 'memory://' },
      ticketing: { driver: 'demo', outbox: { pollMs: 100 } },
      channels: [{ id: 'webchat', type: 'webchat' }],
    }),
  );
  customer = await webchatCustomer(hub.url as string);
}, 120_000);

afterAll(async () => {
  customer?.close();
  await hub?.stop();
  if (savedToken === undefined) delete process.env.HUB_ADMIN_TOKEN;
  else process.env.HUB_ADMIN_TOKEN = savedToken;
});

describe('a handoff the customer calls off', { timeout: 120_000 }, () => {
  it('files the question and case summary, then notes the cancellation and solves the ticket', async () => {
    say('c-0', 'Hello');
    await nextReply('the greeting answered');
    say('c-1', 'How long does standard shipping take?');
    await nextReply('the shipping answer');
    say('c-2', 'alex@example.com');
    await nextReply('the e-mail answered');
    say('c-3', 'I want to talk to a human');
    const opened = await nextReply('the handoff confirmation');
    const reference = /HUB-[0-9A-Z]{8}/.exec(opened.content?.text ?? '')?.[0] as string;
    expect(reference, opened.content?.text).toBeDefined();
    expect(opened.handoff).toBe('waiting');

    const filed = await until('the ticket in the demo helpdesk', () => deskTicket(reference));
    expect(filed.subject).toBe('[webchat] How long does standard shipping take?');
    expect(filed.subject).not.toContain('example.com');
    expect(filed.summary).toContain('The customer asked to talk to a person.');
    expect(filed.summary).toContain('Question: "How long does standard shipping take?"');
    expect(filed.summary).toMatch(/Tried: answered from the knowledge base entry "[^"]+"/);
    // ticketing.pii is masked by default: the address typed is a placeholder in the summary.
    expect(filed.summary).not.toContain('alex@example.com');
    expect(filed.status).not.toBe('solved');

    say('c-4', 'never mind, cancel');
    const cancelled = await nextReply('the cancellation');
    expect(cancelled.content?.text).toMatch(/taken you out of the queue/);
    expect(cancelled.handoff).toBeUndefined();

    const solved = await until('the note and the solved status on the ticket', async () => {
      const ticket = await deskTicket(reference);
      return ticket?.status === 'solved' ? ticket : undefined;
    });
    const note = solved.comments.at(-1);
    expect(note, JSON.stringify(solved.comments)).toMatchObject({ author: 'bot', public: false });
    expect(note?.text).toContain('The customer cancelled the request for a person while waiting');
    expect(note?.text).toContain('"never mind, cancel"');

    // Back with the bot: the next question is answered, not queued for a person.
    say('c-5', 'How long does standard shipping take?');
    const answer = await nextReply('the bot answering again');
    expect(answer.content?.text).toMatch(/day/i);
    expect(answer.handoff).toBeUndefined();
  });
});
