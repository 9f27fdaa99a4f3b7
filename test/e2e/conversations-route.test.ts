import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import type { KyselyStore } from '../../core/store';

/**
 * The console's conversation routes over a started hub: conversations played through two REST
 * channels of two tenants, then searched and read by operators of each role and scope.
 */

const ADMIN = 'conv-admin-machine-token-00000000001';
const ANALYST = 'conv-acme-analyst-token-000000000001';
const SUPERVISOR = 'conv-acme-supervisor-token-0000000001';
const AGENT = 'conv-agent-machine-token-00000000001';
const EMAIL = 'alice.smith@example.com';
const PHONE = '+49 151 23456789';

interface Summary {
  id: string;
  tenant: string;
  channel: string;
  customerId: string | null;
  turns: number;
  lastIntent: string | null;
  outcome: string | null;
  rating: number | null;
}

interface Line {
  who: string;
  text: string;
  trace?: {
    intent?: { name: string; confidence: number };
    decision?: string;
    retrieved: Array<{ id: string; score: number; title?: string; text?: string }>;
    citations: Array<{ id: string; title?: string }>;
    latencyMs?: number;
    rating?: number;
  };
}

describe('GET /admin/conversations in a started hub', { timeout: 180_000 }, () => {
  let hub: RunningHub;
  let app: FastifyInstance;

  async function say(channel: string, sender: string, message: string): Promise<void> {
    const response = await fetch(`${hub.url}/webhooks/${channel}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender, message }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
  }

  beforeAll(async () => {
    hub = await startHub(
      hubConfigSchema.parse({
        server: { host: '127.0.0.1', port: 0, replyTimeoutMs: 30_000 },
        database: { driver: 'pglite', dataDir: 'memory://' },
        channels: [
          { id: 'shop', type: 'rest', auth: 'none', tenant: 'acme' },
          { id: 'other', type: 'rest', auth: 'none', tenant: 'globex' },
        ],
        analytics: { csat: { enabled: true, scale: '1-5' } },
        security: {
          rateLimits: { enabled: false },
          tokens: [
            { name: 'root', role: 'admin', token: ADMIN },
            { name: 'ana', role: 'analyst', token: ANALYST, tenants: ['acme'] },
            { name: 'sue', role: 'supervisor', token: SUPERVISOR, tenants: ['acme'] },
            { name: 'al', role: 'agent', token: AGENT },
          ],
        },
      }),
    );
    app = hub.app as FastifyInstance;
    // Alice asks for an invoice, says it helped, rates 5, then leaves her e-mail and phone.
    await say('shop', 'alice', 'can I get an invoice?');
    await say('shop', 'alice', 'yes');
    await say('shop', 'alice', '5');
    await say('shop', 'alice', `Please send it to ${EMAIL} or call me on ${PHONE}`);
    await say('shop', 'bob', 'How long does shipping take?');
    // Another tenant's customer with the same platform user id.
    await say('other', 'alice', 'Which payment methods do you accept?');
  });

  afterAll(async () => {
    await hub?.stop();
  });

  const get = (url: string, token = ADMIN) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  const search = async (query: string, token = ADMIN) => {
    const response = await get(`/admin/conversations?${query}`, token);
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { conversations: Summary[]; hasMore: boolean; page: number };
  };
  const aliceAtAcme = async () => {
    const { conversations } = await search('channel=shop&customer=alice');
    expect(conversations).toHaveLength(1);
    return conversations[0] as Summary;
  };

  it('lists every conversation, newest first, with turns, last intent, outcome and rating', async () => {
    const { conversations, hasMore } = await search('');
    expect(conversations.map((c) => [c.channel, c.tenant])).toEqual([
      ['other', 'globex'],
      ['shop', 'acme'],
      ['shop', 'acme'],
    ]);
    expect(hasMore).toBe(false);
    const alice = await aliceAtAcme();
    expect(alice).toMatchObject({ tenant: 'acme', turns: 4, lastIntent: 'faq', outcome: 'open', rating: 5 });
    expect(alice.id).toMatch(/^h1\./);
    expect(JSON.stringify(alice)).not.toContain('alice');
  });

  it('filters by channel, intent, outcome, rating, date and tenant, and pages', async () => {
    expect((await search('channel=other')).conversations.map((c) => c.tenant)).toEqual(['globex']);
    expect((await search('tenant=acme')).conversations).toHaveLength(2);
    expect((await search('intent=faq')).conversations.length).toBeGreaterThanOrEqual(1);
    expect((await search('intent=no-such-intent')).conversations).toEqual([]);
    expect((await search('rating=5')).conversations).toHaveLength(1);
    expect((await search('rating=4-5')).conversations).toHaveLength(1);
    expect((await search('rating=1-2')).conversations).toEqual([]);
    expect((await search('outcome=open')).conversations).toHaveLength(3);
    expect((await search('outcome=handed_off')).conversations).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await search(`from=${today}&to=${today}`)).conversations).toHaveLength(3);
    expect((await search('from=2020-01-01&to=2020-01-31')).conversations).toEqual([]);
    const first = await search('pageSize=2');
    expect(first.conversations).toHaveLength(2);
    expect(first.hasMore).toBe(true);
    const second = await search('pageSize=2&page=2');
    expect(second.conversations).toHaveLength(1);
    expect(second.hasMore).toBe(false);
  });

  it('finds a customer by platform user id, <channel>:<user id> or uuid, only in the tenants the operator sees', async () => {
    expect((await search('customer=alice')).conversations.map((c) => c.tenant).sort()).toEqual([
      'acme',
      'globex',
    ]);
    expect((await search('customer=shop:alice')).conversations.map((c) => c.tenant)).toEqual(['acme']);
    const alice = await aliceAtAcme();
    const byUuid = await search(`customer=${alice.customerId}`);
    expect(byUuid.conversations.map((c) => c.id)).toEqual([alice.id]);
    // The analyst of acme: the same user id in globex stays out of sight.
    expect((await search('customer=alice', ANALYST)).conversations.map((c) => c.tenant)).toEqual(['acme']);
    expect((await search('', ANALYST)).conversations.every((c) => c.tenant === 'acme')).toBe(true);
    const globex = (await search('channel=other')).conversations[0] as Summary;
    expect((await search(`customer=${globex.customerId}`, ANALYST)).conversations).toEqual([]);
    expect((await get('/admin/conversations?tenant=globex', ANALYST)).statusCode).toBe(403);
    expect((await search('customer=nobody')).conversations).toEqual([]);
  });

  it('refuses malformed filters with 400 and says which', async () => {
    for (const [query, says] of [
      ['rating=6', 'rating'],
      ['rating=4-2', 'rating'],
      ['outcome=great', 'outcome'],
      ['from=2026-1-2', 'from'],
      ['from=2026-13-01', 'from'],
      ['from=2026-11-03&to=2026-11-02', 'to must be on or after from'],
      ['page=0', 'page'],
      ['pageSize=1000', 'pageSize'],
      ['text=x', 'unknown parameter text'],
    ] as const) {
      const response = await get(`/admin/conversations?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('admin.invalid_query');
      expect(response.json().error.message, query).toContain(says);
    }
  });

  it('shows the transcript with each customer turn traced, on record; the analyst reads PII masked', async () => {
    const alice = await aliceAtAcme();
    const asSupervisor = await get(`/admin/conversations/${encodeURIComponent(alice.id)}`, SUPERVISOR);
    expect(asSupervisor.statusCode, asSupervisor.body).toBe(200);
    const shown = asSupervisor.json() as { conversation: Summary; lines: Line[]; truncated: boolean };
    expect(shown.conversation.id).toBe(alice.id);
    expect(shown.truncated).toBe(false);
    const customer = shown.lines.filter((line) => line.who === 'customer');
    expect(customer.map((line) => line.text)).toEqual([
      'can I get an invoice?',
      'yes',
      '5',
      `Please send it to ${EMAIL} or call me on ${PHONE}`,
    ]);
    expect(shown.lines.some((line) => line.who === 'bot')).toBe(true);
    const first = customer[0]?.trace;
    expect(first?.intent?.name).toBe('faq');
    expect(first?.intent?.confidence).toBeGreaterThan(0);
    expect(first?.decision).toBeTruthy();
    expect(first?.retrieved.length).toBeGreaterThan(0);
    expect(first?.retrieved[0]?.score).toEqual(expect.any(Number));
    expect(first?.retrieved[0]?.title).toEqual(expect.any(String));
    expect(first?.retrieved[0]?.text).toEqual(expect.any(String));
    expect(first?.latencyMs).toEqual(expect.any(Number));
    expect(customer[2]?.trace?.rating).toBe(5);

    const trail = await (hub.store as KyselyStore).auditTrail({ limit: 20 });
    expect(trail.find((record) => record.action === 'operator.conversation.read')).toMatchObject({
      actor: 'token:sue',
      subject: `conversation:${alice.id}`,
      tenant: 'acme',
    });

    const asAnalyst = await get(`/admin/conversations/${encodeURIComponent(alice.id)}`, ANALYST);
    expect(asAnalyst.statusCode).toBe(200);
    const masked = asAnalyst.json() as { lines: Line[] };
    expect(asAnalyst.body).not.toContain(EMAIL);
    expect(asAnalyst.body).not.toContain('151 23456789');
    expect(asAnalyst.body).not.toContain('alice');
    const lastCustomer = masked.lines.filter((line) => line.who === 'customer').at(-1);
    expect(lastCustomer?.text).toContain('<EMAIL …@example.com>');
    expect(masked.lines[0]?.trace?.intent?.name).toBe('faq');
  });

  it('answers 404 for an unknown id, another tenant, a malformed id; 403 for an agent', async () => {
    const alice = await aliceAtAcme();
    const unknown = await get(`/admin/conversations/${encodeURIComponent(`h1.${'A'.repeat(43)}`)}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('conversation.not_found');
    expect((await get('/admin/conversations/shop%3Aacme%3Aalice')).statusCode).toBe(404);
    const globex = (await search('channel=other')).conversations[0] as Summary;
    expect((await get(`/admin/conversations/${encodeURIComponent(globex.id)}`, ANALYST)).statusCode).toBe(
      404,
    );
    expect((await get(`/admin/conversations/${encodeURIComponent(globex.id)}`)).statusCode).toBe(200);
    expect((await get('/admin/conversations', AGENT)).statusCode).toBe(403);
    expect((await get(`/admin/conversations/${encodeURIComponent(alice.id)}`, AGENT)).statusCode).toBe(403);
  });
});
