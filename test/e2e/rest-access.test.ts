import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { ApiKeyStore } from '../../core/security/api-keys';
import type { KyselyStore } from '../../core/store';
import { conversationKey } from '../../core/types';

/**
 * The REST impersonation attacks of issue 13 against a running hub (embedded: PGlite, in-memory
 * bus, extractive answers): each must now fail to do harm.
 */
let hub: RunningHub;
let url: string;
let victimKey: string;
let attackerKey: string;
let keys: ApiKeyStore;

beforeAll(async () => {
  hub = await startHub(
    hubConfigSchema.parse({
      server: { host: '127.0.0.1', port: 0, replyTimeoutMs: 10_000 },
      database: { driver: 'pglite', dataDir: 'memory://' },
      channels: [
        { id: 'rest', type: 'rest', tenant: 'acme' },
        { id: 'local', type: 'rest', auth: 'none', tenant: 'acme' },
      ],
    }),
  );
  url = hub.url ?? '';
  keys = new ApiKeyStore((hub.store as KyselyStore).db);
  victimKey = (await keys.create('acme', 'acme shop')).key;
  attackerKey = (await keys.create('mallory', 'attacker')).key;
});

afterAll(async () => {
  await hub?.stop();
});

async function post(path: string, body: Record<string, unknown>, key?: string) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Array<{ id: string; text: string }> & { error?: { code: string } },
    eventId: decodeURIComponent(response.headers.get('x-hub-event-id') ?? ''),
  };
}

const replies = (eventId: string, key?: string) =>
  fetch(`${url}/webhooks/rest/replies/${encodeURIComponent(eventId)}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });

describe('REST channel access', () => {
  it('refuses a request without a key, or with an unknown one, with 401 rest.unauthenticated', async () => {
    const missing = await post('/webhooks/rest', { sender: 'alice', message: 'hi' });
    expect(missing.status).toBe(401);
    expect(missing.body.error?.code).toBe('rest.unauthenticated');
    const unknown = await post(
      '/webhooks/rest',
      { sender: 'alice', message: 'hi' },
      `hub_abcdefghij_${'0'.repeat(64)}`,
    );
    expect(unknown.status).toBe(401);
    expect((await replies('rest:alice:m1')).status).toBe(401);
  });

  it("keeps a sender of another tenant's key out of the victim's conversation", async () => {
    const victim = await post(
      '/webhooks/rest',
      { sender: 'alice', message: 'How long does shipping take?', message_id: 'm-1' },
      victimKey,
    );
    expect(victim.status).toBe(200);
    // The same sender and message id under the attacker's key: another customer, another event.
    const attack = await post(
      '/webhooks/rest',
      { sender: 'alice', message: 'Can I get an invoice?', message_id: 'm-1' },
      attackerKey,
    );
    expect(attack.status).toBe(200);
    expect(attack.eventId).not.toBe(victim.eventId);
    expect(attack.body.map((reply) => reply.id)).not.toContain(victim.body[0]?.id);
    const victimConversation = await hub.store.transcript(
      conversationKey({ channel: 'rest', tenant: 'acme', conversation: 'alice' }),
    );
    expect(victimConversation.filter((entry) => entry.direction === 'in').map((entry) => entry.text)).toEqual(
      ['How long does shipping take?'],
    );
    const attackerConversation = await hub.store.transcript(
      conversationKey({ channel: 'rest', tenant: 'mallory', conversation: 'alice' }),
    );
    expect(attackerConversation.map((entry) => entry.text)).toContain('Can I get an invoice?');
  });

  it('answers the replies of a message only to the key that posted it; others get 404', async () => {
    const posted = await post(
      '/webhooks/rest',
      { sender: 'bob', message: 'Which payment methods do you accept?' },
      victimKey,
    );
    expect(posted.body.length).toBeGreaterThan(0);
    const own = await replies(posted.eventId, victimKey);
    expect(own.status).toBe(200);
    expect(((await own.json()) as Array<{ id: string }>).map((reply) => reply.id)).toEqual(
      posted.body.map((reply) => reply.id),
    );
    const stolen = await replies(posted.eventId, attackerKey);
    expect(stolen.status).toBe(404);
    expect(JSON.stringify(await stolen.json())).not.toContain(posted.body[0]?.text ?? 'unreachable');
  });

  it('refuses a revoked key at once', async () => {
    const created = await keys.create('acme', 'short-lived');
    expect((await post('/webhooks/rest', { sender: 'carol', message: 'hi' }, created.key)).status).toBe(200);
    await keys.revoke(created.id);
    const refused = await post('/webhooks/rest', { sender: 'carol', message: 'hi again' }, created.key);
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('rest.unauthenticated');
  });

  it('opens a channel with auth: none to this machine only, and still checks a key that is sent', async () => {
    const local = await post('/webhooks/local', { sender: 'dave', message: 'How long does shipping take?' });
    expect(local.status).toBe(200);
    const remote = await hub.app?.inject({
      method: 'POST',
      url: '/webhooks/local',
      remoteAddress: '203.0.113.7',
      payload: { sender: 'dave', message: 'hi' },
    });
    expect(remote?.statusCode).toBe(401);
    const revoked = await keys.create('acme', 'revoked');
    await keys.revoke(revoked.id);
    expect((await post('/webhooks/local', { sender: 'dave', message: 'hi' }, revoked.key)).status).toBe(401);
  });

  it("gives a local sender spelled like a key's event none of that key's replies", async () => {
    const keyed = await post(
      '/webhooks/local',
      { sender: 'frank', message: 'How long does shipping take?', message_id: 'm-9' },
      victimKey,
    );
    expect(keyed.status).toBe(200);
    const keyId = victimKey.split('_')[1];
    const collider = await post('/webhooks/local', {
      sender: `${keyId}:frank`,
      message: 'anything',
      message_id: 'm-9',
    });
    expect(collider.eventId).toBe(keyed.eventId);
    expect(collider.status).toBe(202);
    expect(collider.body).toEqual([]);
  });

  it('manages keys through the admin API without ever listing a secret', async () => {
    const created = await hub.app?.inject({
      method: 'POST',
      url: '/admin/api-keys',
      headers: { host: 'localhost' },
      payload: { tenant: 'globex', name: 'erp sync' },
    });
    expect(created?.statusCode).toBe(201);
    const key = created?.json() as { id: string; key: string };
    expect((await post('/webhooks/rest', { sender: 'erin', message: 'hi' }, key.key)).status).toBe(200);
    const listed = await hub.app?.inject({
      method: 'GET',
      url: '/admin/api-keys',
      headers: { host: 'localhost' },
    });
    expect(listed?.json()).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: key.id, tenant: 'globex' })]),
    );
    expect(listed?.body).not.toContain(key.key.split('_')[2]);
    const revoked = await hub.app?.inject({
      method: 'DELETE',
      url: `/admin/api-keys/${key.id}`,
      headers: { host: 'localhost' },
    });
    expect(revoked?.json()).toEqual({ id: key.id, revoked: true });
    expect((await post('/webhooks/rest', { sender: 'erin', message: 'hi' }, key.key)).status).toBe(401);
    // Both operator actions are on record, and no record holds the secret.
    const trail = await (hub.store as KyselyStore).auditTrail({ subject: `key:${key.id}` });
    expect(trail.map((record) => record.action).sort()).toEqual([
      'operator.key.create',
      'operator.key.revoke',
    ]);
    expect(JSON.stringify(trail)).not.toContain(key.key.split('_')[2]);
  });
});
