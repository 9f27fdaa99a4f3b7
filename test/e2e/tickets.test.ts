import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDraft } from '../../adapters/ticketing/demo/at-rest';
import { shareDataKeys } from '../support/data-keys';
import { scratchDatabase } from '../support/postgres';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * The user-visible part of issue 5 through a real `hub start` on PostgreSQL: an order question with
 * an ownership check, and a handoff ticket that survives the hub being killed between the outbox
 * write and the delivery, and between the helpdesk's create and the outbox's bookkeeping.
 */
const database = scratchDatabase('hub_tickets');
/** Drafts are sealed and conversation keys hashed at rest: the test shares the hub's data keys. */
const dataKeys = shareDataKeys();

let db: pg.Client;
let hub: HubProcess | undefined;
const config = writeConfig({
  database: { driver: 'postgres', url: database.url },
  ticketing: { driver: 'demo', outbox: { pollMs: 100, leaseMs: 500, backoffMs: 100 } },
  // Local development mode: callers on this machine need no API key.
  channels: [{ id: 'rest', type: 'rest', auth: 'none' }],
});

const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);

async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function restart(env: NodeJS.ProcessEnv = {}) {
  await hub?.stop('SIGKILL');
  hub = await startHubProcess(config, [], env);
  return hub;
}

beforeAll(async () => {
  await database.create();
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await hub?.stop('SIGKILL');
  await db?.end();
  await database.drop();
});

// Each test starts the hub once or twice; a loaded CI machine needs tens of seconds per start.
describe('orders and tickets through a running hub', { timeout: 300_000 }, () => {
  it('shows an order only after the customer proves the e-mail on it', async () => {
    // This hub also serves the next test, which needs it to die right after the outbox write.
    const { url } = await restart({ HUB_CRASH_POINT: 'ticket-after-enqueue' });
    const first = await ask(url, 'customer-1', 'where is my order XX12345678');
    expect(first.replies[0]?.text).toMatch(/phone number or e-mail address/);
    expect(first.replies[0]?.text).not.toMatch(/shipped|DHL/);

    const wrong = await ask(url, 'customer-1', 'sam@example.org');
    expect(wrong.replies[0]?.text).toMatch(/does not match/);
    expect(wrong.replies[0]?.text).not.toMatch(/DHL/);

    const right = await ask(url, 'customer-1', 'alex@example.com');
    expect(right.replies[0]?.text).toMatch(/Order XX12345678 is shipped/);
    expect(right.replies[0]?.text).toMatch(/JD014600003828/);

    const zh = await ask(url, 'customer-2', '我的订单 CN20261101 到哪了');
    expect(zh.replies[0]?.text).toMatch(/手机号或电子邮箱/);
    const zhRight = await ask(url, 'customer-2', '13800138000');
    expect(zhRight.replies[0]?.text).toMatch(/订单 CN20261101 已送达/);
  });

  it('a hub killed after the outbox write delivers the ticket exactly once after restart', async () => {
    const url = hub?.url ?? '';
    await ask(url, 'customer-3', 'my order AB00000001 has not arrived');
    // The hub dies inside this turn, after committing the ticket request and before any delivery.
    await ask(url, 'customer-3', 'I want a human').catch(() => undefined);
    await until('the hub to die', async () => hub?.child.exitCode !== null || hub?.child.signalCode !== null);
    expect(hub?.child.signalCode).toBe('SIGKILL');
    expect(await count('select count(*) as n from ticket_requests')).toBe(1);
    expect(await count('select count(*) as n from demo_tickets')).toBe(0);

    await restart();
    await until('the ticket', async () => (await count('select count(*) as n from demo_tickets')) === 1);
    await new Promise((resolve) => setTimeout(resolve, 700)); // several polls: nothing more may arrive
    expect(await count('select count(*) as n from demo_tickets')).toBe(1);
    expect(await count('select count(*) as n from ticket_outbox where delivered_at is not null')).toBe(1);
    const { rows } = await db.query('select idempotency_key, draft from demo_tickets');
    const draft = openDraft(dataKeys.atRest, rows[0]);
    expect(draft.transcript.map((l: { text: string }) => l.text)).toEqual([
      'my order AB00000001 has not arrived',
      expect.any(String),
      'I want a human',
    ]);
    expect(draft.entities.order_id).toEqual(['AB00000001']);
    expect(draft.category).toBe('orders');
  });

  it('a hub killed after the helpdesk created the ticket does not create it twice', async () => {
    await db.query('delete from ticket_requests; delete from demo_tickets');
    const { url } = await restart({ HUB_CRASH_POINT: 'ticket-after-create' });
    await ask(url, 'customer-4', '转人工').catch(() => undefined);
    await until('the hub to die', async () => hub?.child.signalCode !== null);
    expect(await count('select count(*) as n from demo_tickets')).toBe(1);
    expect(await count('select count(*) as n from ticket_outbox where delivered_at is null')).toBe(1);

    await restart();
    // The dead worker's lease (500 ms) lapses, the delivery is retried with the same key.
    await until(
      'delivery',
      async () =>
        (await count('select count(*) as n from ticket_outbox where delivered_at is not null')) === 1,
    );
    expect(await count('select count(*) as n from demo_tickets')).toBe(1);
    const { rows } = await db.query(
      'select o.attempts, r.external_id, t.id from ticket_outbox o join ticket_requests r on r.id = o.request_id join demo_tickets t on t.idempotency_key = r.id',
    );
    expect(rows[0].attempts).toBe(2);
    expect(rows[0].external_id).toBe(String(rows[0].id));
  });

  it('answers a handoff with the ticket reference, once per conversation', async () => {
    const url = hub?.url ?? ''; // the hub restarted by the previous test
    const first = await ask(url, 'customer-5', 'I need to talk to an agent please');
    const reference = /ticket (HUB-[0-9A-Z]{8})/.exec(first.replies[0]?.text ?? '')?.[1];
    expect(reference).toBeDefined();
    const again = await ask(url, 'customer-5', 'human!!');
    expect(again.replies[0]?.text).toContain(`already (ticket ${reference})`);
    await until(
      'delivery',
      async () =>
        (await count('select count(*) as n from demo_tickets where idempotency_key = $1', [reference])) === 1,
    );
    expect(
      await count('select count(*) as n from ticket_requests where conversation_key = $1', [
        dataKeys.conversation('rest:default:customer-5'),
      ]),
    ).toBe(1);
  });
});
