import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FreshdeskTicketing,
  JiraSmTicketing,
  ServiceNowTicketing,
  ticketingConfigSchema,
  WebhookTicketing,
} from '../../adapters/ticketing';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store/index';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import { TicketDeliveryWorker } from '../../core/tickets/worker';
import type { TicketingAdapter } from '../../core/types';
import { startFreshdeskEmulator } from '../emulators/freshdesk-emulator';
import type { HelpdeskEmulator } from '../emulators/helpdesk-faults';
import { startJiraEmulator } from '../emulators/jira-emulator';
import { startServiceNowEmulator } from '../emulators/servicenow-emulator';
import { startWebhookSink } from '../emulators/webhook-sink-emulator';
import { draft } from '../support/ticket-draft';

/**
 * The outbox worker against each helpdesk whose first create is committed and then never
 * answered: the attempt times out, the retry finds the committed ticket, and the helpdesk ends up
 * with exactly one ticket, the one the outbox records.
 */
const config = ticketingConfigSchema.parse({
  outbox: { pollMs: 20, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 50, leaseMs: 5_000 },
  breaker: { failureThreshold: 5, resetMs: 60_000 },
  // Long enough for the look-ups before the create on a busy machine; the hang ends it.
  timeoutMs: 1_500,
});

interface Case {
  emulator: HelpdeskEmulator;
  adapter: TicketingAdapter;
  /** The path of the create request. */
  create: RegExp;
}

const SECRET = 'whsec-0123456789abcdef';
const cases: Record<string, () => Promise<Case>> = {
  freshdesk: async () => {
    // Search lags as on Freshdesk: the retry must find the ticket through the recent-tickets list.
    const emulator = await startFreshdeskEmulator({ apiKey: 'k', searchLagMs: 300_000 });
    return {
      emulator,
      adapter: new FreshdeskTicketing({ baseUrl: emulator.url, apiKey: 'k', timeoutMs: 2_000 }),
      create: /^\/api\/v2\/tickets$/,
    };
  },
  jiraSm: async () => {
    const emulator = await startJiraEmulator({ email: 'e@example.com', apiToken: 't', serviceDeskId: '1' });
    return {
      emulator,
      adapter: new JiraSmTicketing({
        baseUrl: emulator.url,
        email: 'e@example.com',
        apiToken: 't',
        serviceDeskId: '1',
        requestTypeId: '10',
        timeoutMs: 2_000,
      }),
      create: /^\/rest\/servicedeskapi\/request$/,
    };
  },
  servicenow: async () => {
    const emulator = await startServiceNowEmulator({ username: 'u', password: 'p' });
    return {
      emulator,
      adapter: new ServiceNowTicketing({
        instanceUrl: emulator.url,
        auth: { type: 'basic', username: 'u', password: 'p' },
        timeoutMs: 2_000,
      }),
      create: /^\/api\/now\/table\/incident$/,
    };
  },
  webhook: async () => {
    const emulator = await startWebhookSink({ secret: SECRET });
    return {
      emulator,
      adapter: new WebhookTicketing({
        url: `${emulator.url}/tickets`,
        ticketUrl: `${emulator.url}/tickets/{id}`,
        secret: SECRET,
        timeoutMs: 2_000,
      }),
      create: /^\/tickets$/,
    };
  },
};

describe('outbox delivery when the helpdesk commits and then hangs', () => {
  // The outbox on the real PostgreSQL server, in a database of its own.
  const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = `hub_tickets_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  let store: KyselyStore;
  beforeAll(async () => {
    await admin(`create database ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    store = await createStore(
      hubConfigSchema.parse({ database: { driver: 'postgres', url: url.toString() } }),
    );
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await admin(`drop database if exists ${database} with (force)`);
  });
  beforeEach(async () => {
    await sql`truncate ticket_requests, ticket_outbox cascade`.execute(ticketDb(store.db));
  });

  it.each(Object.keys(cases))('%s: exactly one ticket, recorded in the outbox', async (name) => {
    const helpdesk = await (cases[name] as () => Promise<Case>)();
    try {
      const outbox = new TicketOutbox(store.db);
      const { request } = await outbox.enqueue({
        dedupeKey: `hang-${name}`,
        conversationKey: 'webchat:default:c1',
        tenant: 'default',
        adapter: helpdesk.adapter.name,
        draft: draft(),
      });
      const worker = new TicketDeliveryWorker({
        outbox,
        adapters: { [helpdesk.adapter.name]: helpdesk.adapter },
        config,
        random: () => 0.5,
      });
      helpdesk.emulator.fail({
        status: 0,
        method: 'POST',
        path: helpdesk.create,
        hang: true,
        afterCommit: true,
      });

      expect(await worker.runOnce()).toBe(0);
      expect(helpdesk.emulator.ticketCount()).toBe(1);
      const pending = await outbox.get(request.id);
      expect(pending?.externalId).toBeUndefined();

      await sql`update ticket_outbox set next_attempt_at = now()`.execute(ticketDb(store.db));
      expect(await worker.runOnce()).toBe(1);
      expect(helpdesk.emulator.ticketCount()).toBe(1);
      const creates = helpdesk.emulator.requests.filter(
        (r) => r.method === 'POST' && helpdesk.create.test(r.path.split('?')[0] ?? ''),
      );
      // The webhook receiver dedupes by Idempotency-Key itself; the others were looked up first.
      expect(creates).toHaveLength(name === 'webhook' ? 2 : 1);

      const delivered = await outbox.get(request.id);
      expect(delivered?.externalId).toBeTruthy();
      const ticket = await helpdesk.adapter.getTicket(delivered?.externalId ?? '', {
        tenant: 'default',
        idempotencyKey: 'read',
      });
      expect(ticket?.subject).toContain('Where is my parcel?');
    } finally {
      await helpdesk.emulator.close();
    }
  });
});
