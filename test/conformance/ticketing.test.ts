import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DemoTicketing,
  FreshdeskTicketing,
  JiraSmTicketing,
  RtTicketing,
  ServiceNowTicketing,
  WebhookTicketing,
  ZendeskTicketing,
} from '../../adapters/ticketing';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store/index';
import { ticketDb } from '../../core/tickets/schema';
import { AdapterError, type TicketingAdapter } from '../../core/types';
import { startFreshdeskEmulator } from '../emulators/freshdesk-emulator';
import type { HelpdeskEmulator } from '../emulators/helpdesk-faults';
import { startJiraEmulator } from '../emulators/jira-emulator';
import { startServiceNowEmulator } from '../emulators/servicenow-emulator';
import { startWebhookSink } from '../emulators/webhook-sink-emulator';
import { startZendeskEmulator, type ZendeskEmulator } from '../emulators/zendesk-emulator';
import { callCtx as ctx, failure } from '../support/adapter-calls';
import { draft } from '../support/ticket-draft';

/** One contract every helpdesk adapter passes: demo (hub database), Zendesk (emulator), Request Tracker 5 (real). */
function contract(
  name: string,
  setup: () => Promise<{ adapter: TicketingAdapter; teardown(): Promise<void> }>,
) {
  describe(`ticketing contract: ${name}`, () => {
    let adapter: TicketingAdapter;
    let teardown: () => Promise<void>;
    beforeAll(async () => {
      ({ adapter, teardown } = await setup());
    }, 120_000);
    afterAll(async () => teardown?.());

    it('creates a ticket once per idempotency key', async () => {
      const key = `HUB-${name.toUpperCase().slice(0, 2)}${Date.now().toString(36).toUpperCase()}`;
      const first = await adapter.createTicket(draft(), ctx(key));
      const second = await adapter.createTicket(draft(), ctx(key));
      expect(second.externalId).toBe(first.externalId);
      const other = await adapter.createTicket(draft({ subject: 'Another question' }), ctx(`${key}X`));
      expect(other.externalId).not.toBe(first.externalId);
    });

    it('reads back the subject, the description with transcript and entities, and comments', async () => {
      const ref = await adapter.createTicket(
        draft(),
        ctx(`HUB-READ${Date.now().toString(36).toUpperCase()}`),
      );
      await adapter.addComment(
        ref.externalId,
        { author: 'bot', text: 'Customer sent a photo.', public: false },
        ctx('c1'),
      );
      await adapter.addComment(
        ref.externalId,
        { author: 'agent', text: 'We are on it.', public: true },
        ctx('c2'),
      );
      const ticket = await adapter.getTicket(ref.externalId, ctx('read'));
      expect(ticket?.subject).toContain('Where is my parcel?');
      const texts = ticket?.comments.map((c) => c.text) ?? [];
      expect(texts[0]).toContain('customer: Where is my parcel XX12345678?');
      expect(texts[0]).toContain('Entity order_id: XX12345678');
      expect(texts.slice(1)).toEqual(['Customer sent a photo.', 'We are on it.']);
      expect(ticket?.comments.slice(1).map((c) => c.public)).toEqual([false, true]);
    });

    it('changes the status', async () => {
      const ref = await adapter.createTicket(
        draft(),
        ctx(`HUB-STAT${Date.now().toString(36).toUpperCase()}`),
      );
      await adapter.setStatus(ref.externalId, 'solved', ctx('s'));
      expect((await adapter.getTicket(ref.externalId, ctx('read')))?.status).toBe('solved');
    });

    it('answers undefined for an unknown ticket and a coded error for writing to one', async () => {
      expect(await adapter.getTicket('987654', ctx('read'))).toBeUndefined();
      const error = await adapter
        .addComment('987654', { author: 'bot', text: 'x', public: false }, ctx('c'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AdapterError);
      expect((error as AdapterError).retryable).toBe(false);
    });
  });
}

contract('demo', async () => {
  const store: KyselyStore = await createStore(
    hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }),
  );
  return { adapter: new DemoTicketing(ticketDb(store.db)), teardown: () => store.close() };
});

let emulator: ZendeskEmulator;
contract('zendesk', async () => {
  emulator = await startZendeskEmulator({ email: 'bot@example.com', apiToken: 'zd-token' });
  const adapter = new ZendeskTicketing({
    baseUrl: emulator.url,
    email: 'bot@example.com',
    apiToken: 'zd-token',
    timeoutMs: 5_000,
  });
  return { adapter, teardown: () => emulator.close() };
});

describe('Zendesk adapter errors', () => {
  let zendesk: ZendeskEmulator;
  let adapter: ZendeskTicketing;
  beforeAll(async () => {
    zendesk = await startZendeskEmulator({ email: 'bot@example.com', apiToken: 'zd-token' });
    adapter = new ZendeskTicketing({
      baseUrl: zendesk.url,
      email: 'bot@example.com',
      apiToken: 'zd-token',
      timeoutMs: 5_000,
    });
  });
  afterAll(async () => zendesk?.close());

  it.each([
    [401, 'adapter.auth', false],
    [404, 'adapter.not_found', false],
    [409, 'adapter.conflict', true],
    [422, 'adapter.invalid', false],
    [429, 'adapter.rate_limited', true],
    [500, 'adapter.unavailable', true],
    [503, 'adapter.unavailable', true],
  ])('maps %i to %s (retryable %s)', async (status, code, retryable) => {
    zendesk.reset();
    zendesk.fail({ status, retryAfter: status === 429 ? 7 : undefined });
    const error = await failure(adapter.createTicket(draft(), ctx(`HUB-E${status}`)));
    expect(error).toBeInstanceOf(AdapterError);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    if (status === 429) expect(error.retryAfterMs).toBe(7_000);
    expect(error.message).not.toContain('alex@example.com');
  });

  it('times out a helpdesk that never answers', async () => {
    zendesk.reset();
    zendesk.fail({ status: 0, hang: true });
    const impatient = new ZendeskTicketing({
      baseUrl: zendesk.url,
      email: 'bot@example.com',
      apiToken: 'zd-token',
      timeoutMs: 300,
    });
    const started = Date.now();
    const error = await failure(impatient.createTicket(draft(), ctx('HUB-HANG')));
    expect(error.code).toBe('adapter.timeout');
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a create whose response was lost is not repeated: the retry finds the ticket by external_id', async () => {
    zendesk.reset();
    zendesk.fail({ status: 502, method: 'POST', afterCommit: true });
    const lost = await failure(adapter.createTicket(draft(), ctx('HUB-LOST0001')));
    expect(lost.code).toBe('adapter.unavailable');
    expect(zendesk.tickets).toHaveLength(1);
    const ref = await adapter.createTicket(draft(), ctx('HUB-LOST0001'));
    expect(ref.externalId).toBe(String(zendesk.tickets[0]?.id));
    expect(zendesk.tickets).toHaveLength(1);
    const posts = zendesk.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.idempotencyKey).toBe('HUB-LOST0001');
  });

  it('rejects an invalid status with 422', async () => {
    zendesk.reset();
    const ref = await adapter.createTicket(draft(), ctx('HUB-STATUS01'));
    const error = await failure(adapter.setStatus(ref.externalId, 'bogus' as never, ctx('s')));
    expect(error.code).toBe('adapter.invalid');
  });
});

/* ---------- Freshdesk, Jira Service Management, ServiceNow, generic webhook (emulators) ---------- */

interface EmulatedHelpdesk {
  emulator: HelpdeskEmulator;
  adapter(timeoutMs?: number): TicketingAdapter;
}

const WEBHOOK_SECRET = 'whsec-0123456789abcdef';
const emulatedHelpdesks: Record<string, () => Promise<EmulatedHelpdesk>> = {
  // Search lags two minutes, as Freshdesk's index does: a retry must find its ticket another way.
  freshdesk: async () => {
    const emulator = await startFreshdeskEmulator({ apiKey: 'fd-key', searchLagMs: 120_000 });
    return {
      emulator,
      adapter: (timeoutMs = 5_000) =>
        new FreshdeskTicketing({ baseUrl: emulator.url, apiKey: 'fd-key', timeoutMs }),
    };
  },
  jiraSm: async () => {
    const emulator = await startJiraEmulator({
      email: 'bot@example.com',
      apiToken: 'jira-token',
      serviceDeskId: '1',
    });
    return {
      emulator,
      adapter: (timeoutMs = 5_000) =>
        new JiraSmTicketing({
          baseUrl: emulator.url,
          email: 'bot@example.com',
          apiToken: 'jira-token',
          serviceDeskId: '1',
          requestTypeId: '10',
          timeoutMs,
        }),
    };
  },
  servicenow: async () => {
    const emulator = await startServiceNowEmulator({ username: 'hub.integration', password: 'sn-pass' });
    return {
      emulator,
      adapter: (timeoutMs = 5_000) =>
        new ServiceNowTicketing({
          instanceUrl: emulator.url,
          auth: { type: 'basic', username: 'hub.integration', password: 'sn-pass' },
          timeoutMs,
        }),
    };
  },
  webhook: async () => {
    const emulator = await startWebhookSink({ secret: WEBHOOK_SECRET });
    return {
      emulator,
      adapter: (timeoutMs = 5_000) =>
        new WebhookTicketing({
          url: `${emulator.url}/tickets`,
          secret: WEBHOOK_SECRET,
          commentUrl: `${emulator.url}/tickets/{id}/comments`,
          ticketUrl: `${emulator.url}/tickets/{id}`,
          statusUrl: `${emulator.url}/tickets/{id}/status`,
          timeoutMs,
        }),
    };
  },
};

/** Every HTTP error class a helpdesk answers, mapped to the code and retryability the outbox acts on. */
function helpdeskErrors(name: string, start: () => Promise<EmulatedHelpdesk>) {
  describe(`${name} adapter errors`, () => {
    let helpdesk: EmulatedHelpdesk;
    beforeAll(async () => {
      helpdesk = await start();
    });
    afterAll(async () => helpdesk?.emulator.close());

    it.each([
      [401, 'adapter.auth', false],
      [403, 'adapter.auth', false],
      [404, 'adapter.not_found', false],
      [409, 'adapter.conflict', true],
      [422, 'adapter.invalid', false],
      [429, 'adapter.rate_limited', true],
      [500, 'adapter.unavailable', true],
      [503, 'adapter.unavailable', true],
    ])('maps %i to %s (retryable %s)', async (status, code, retryable) => {
      helpdesk.emulator.reset();
      helpdesk.emulator.fail({ status, retryAfter: status === 429 ? 7 : undefined });
      const error = await failure(helpdesk.adapter().createTicket(draft(), ctx(`HUB-E${status}`)));
      expect(error).toBeInstanceOf(AdapterError);
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(retryable);
      if (status === 429) expect(error.retryAfterMs).toBe(7_000);
      expect(error.message).not.toContain('alex@example.com');
      expect(helpdesk.emulator.ticketCount()).toBe(0);
    });

    it('times out a helpdesk that never answers', async () => {
      helpdesk.emulator.reset();
      helpdesk.emulator.fail({ status: 0, hang: true });
      const started = Date.now();
      const error = await failure(helpdesk.adapter(300).createTicket(draft(), ctx('HUB-HANG')));
      expect(error.code).toBe('adapter.timeout');
      expect(error.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('a create whose response was lost is not repeated: the retry finds the ticket', async () => {
      helpdesk.emulator.reset();
      helpdesk.emulator.fail({ status: 502, method: 'POST', afterCommit: true });
      const adapter = helpdesk.adapter();
      const lost = await failure(adapter.createTicket(draft(), ctx('HUB-LOST0001')));
      expect(lost.code).toBe('adapter.unavailable');
      expect(helpdesk.emulator.ticketCount()).toBe(1);
      const ref = await adapter.createTicket(draft(), ctx('HUB-LOST0001'));
      expect(helpdesk.emulator.ticketCount()).toBe(1);
      expect((await adapter.getTicket(ref.externalId, ctx('read')))?.subject).toContain(
        'Where is my parcel?',
      );
    });
  });
}

for (const [name, start] of Object.entries(emulatedHelpdesks)) {
  contract(name, async () => {
    const helpdesk = await start();
    return { adapter: helpdesk.adapter(), teardown: () => helpdesk.emulator.close() };
  });
  helpdeskErrors(name, start);
}

/* ---------- Request Tracker 5, for real ---------- */

const RT_START = join(import.meta.dirname, '..', 'support', 'rt', 'start.sh');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

let rt: { url: string; pid: number; dir: string } | undefined;
let rtSkip: string | undefined;
try {
  const dir = mkdtempSync(join(tmpdir(), 'hub-rt-'));
  const port = await freePort();
  // start.sh installs the Debian package when it is missing (as root), then starts rt-server.
  const pid = Number(
    execFileSync(RT_START, [dir, String(port)], {
      encoding: 'utf8',
      timeout: 600_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim(),
  );
  rt = { url: `http://127.0.0.1:${port}`, pid, dir };
} catch (error) {
  const e = error as { stderr?: string; message: string };
  rtSkip = (e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
  console.warn(`Request Tracker suite skipped: RT 5 could not be installed or started here (${rtSkip}).`);
}

describe.skipIf(!rt)('Request Tracker 5 (REST2, real server)', () => {
  afterAll(() => {
    if (!rt) return;
    try {
      process.kill(-rt.pid, 'SIGTERM');
    } catch {
      try {
        process.kill(rt.pid, 'SIGTERM');
      } catch {}
    }
    rmSync(rt.dir, { recursive: true, force: true });
  });
  contract('rt', async () => ({
    adapter: new RtTicketing({
      baseUrl: rt?.url ?? '',
      username: 'root',
      password: 'password',
      queue: 'General',
      timeoutMs: 10_000,
    }),
    teardown: async () => {},
  }));

  it('refuses wrong credentials with a non-retryable auth error', async () => {
    const wrong = new RtTicketing({
      baseUrl: rt?.url ?? '',
      username: 'root',
      password: 'nope',
      queue: 'General',
      timeoutMs: 10_000,
    });
    const error = await failure(wrong.createTicket(draft(), ctx('HUB-RTAUTH01')));
    expect(error.code).toBe('adapter.auth');
    expect(error.retryable).toBe(false);
  });
});
