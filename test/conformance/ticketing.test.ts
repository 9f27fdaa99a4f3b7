import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyHelpdeskDescriptor, RtTicketing, ZendeskTicketing } from '../../adapters/ticketing';
import { demoHelpdesk } from '../../adapters/ticketing/demo';
import { freshdeskHelpdesk } from '../../adapters/ticketing/freshdesk';
import { jiraSmHelpdesk } from '../../adapters/ticketing/jira-sm';
import { rtHelpdesk } from '../../adapters/ticketing/rt';
import { servicenowHelpdesk } from '../../adapters/ticketing/servicenow';
import { webhookHelpdesk } from '../../adapters/ticketing/webhook';
import { zendeskHelpdesk } from '../../adapters/ticketing/zendesk';
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
import { helpdeskFromConfig, ticketingContract } from './ticketing-contract';

ticketingContract(demoHelpdesk, async () => {
  const store: KyselyStore = await createStore(
    hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }),
  );
  return { options: {}, db: ticketDb(store.db), teardown: () => store.close() };
});

let emulator: ZendeskEmulator;
ticketingContract(zendeskHelpdesk, async () => {
  emulator = await startZendeskEmulator({ email: 'bot@example.com', apiToken: 'zd-token' });
  return {
    options: { baseUrl: emulator.url, email: 'bot@example.com', apiToken: 'zd-token' },
    teardown: () => emulator.close(),
  };
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
  /** The helpdesk's block pointed at the emulator. */
  options: Record<string, unknown>;
}

const WEBHOOK_SECRET = 'whsec-0123456789abcdef';
const emulatedHelpdesks: Array<[AnyHelpdeskDescriptor, () => Promise<EmulatedHelpdesk>]> = [
  // Search lags two minutes, as Freshdesk's index does: a retry must find its ticket another way.
  [
    freshdeskHelpdesk,
    async () => {
      const emulator = await startFreshdeskEmulator({ apiKey: 'fd-key', searchLagMs: 120_000 });
      return { emulator, options: { baseUrl: emulator.url, apiKey: 'fd-key' } };
    },
  ],
  [
    jiraSmHelpdesk,
    async () => {
      const emulator = await startJiraEmulator({
        email: 'bot@example.com',
        apiToken: 'jira-token',
        serviceDeskId: '1',
      });
      return {
        emulator,
        options: {
          baseUrl: emulator.url,
          email: 'bot@example.com',
          apiToken: 'jira-token',
          serviceDeskId: '1',
          requestTypeId: '10',
        },
      };
    },
  ],
  [
    servicenowHelpdesk,
    async () => {
      const emulator = await startServiceNowEmulator({ username: 'hub.integration', password: 'sn-pass' });
      return {
        emulator,
        options: {
          instanceUrl: emulator.url,
          auth: { type: 'basic', username: 'hub.integration', password: 'sn-pass' },
        },
      };
    },
  ],
  [
    webhookHelpdesk,
    async () => {
      const emulator = await startWebhookSink({ secret: WEBHOOK_SECRET });
      return {
        emulator,
        options: {
          url: `${emulator.url}/tickets`,
          secret: WEBHOOK_SECRET,
          commentUrl: `${emulator.url}/tickets/{id}/comments`,
          ticketUrl: `${emulator.url}/tickets/{id}`,
          statusUrl: `${emulator.url}/tickets/{id}/status`,
        },
      };
    },
  ],
];

/** Every HTTP error class a helpdesk answers, mapped to the code and retryability the outbox acts on. */
function helpdeskErrors(name: string, start: () => Promise<EmulatedHelpdesk>) {
  describe(`${name} adapter errors`, () => {
    let helpdesk: EmulatedHelpdesk & { adapter(timeoutMs?: number): TicketingAdapter };
    beforeAll(async () => {
      const started = await start();
      helpdesk = { ...started, adapter: (timeoutMs) => helpdeskFromConfig(name, started, timeoutMs) };
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

for (const [descriptor, start] of emulatedHelpdesks) {
  ticketingContract(descriptor, async () => {
    const helpdesk = await start();
    return { options: helpdesk.options, teardown: () => helpdesk.emulator.close() };
  });
  helpdeskErrors(descriptor.name, start);
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
  ticketingContract(rtHelpdesk, async () => ({
    options: { baseUrl: rt?.url ?? '', username: 'root', password: 'password', queue: 'General' },
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
