import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTicketing,
  FreshdeskTicketing,
  JiraSmTicketing,
  ServiceNowTicketing,
  ticketingConfigSchema,
  WebhookTicketing,
} from '../../adapters/ticketing';
import { freshdeskIdempotencyTag } from '../../adapters/ticketing/freshdesk';
import { jiraIdempotencyLabel } from '../../adapters/ticketing/jira-sm';
import { type FreshdeskEmulator, startFreshdeskEmulator } from '../emulators/freshdesk-emulator';
import { type JiraEmulator, startJiraEmulator } from '../emulators/jira-emulator';
import { type ServiceNowEmulator, startServiceNowEmulator } from '../emulators/servicenow-emulator';
import { startWebhookSink, type WebhookSinkEmulator } from '../emulators/webhook-sink-emulator';
import { callCtx as ctx, failure } from '../support/adapter-calls';
import { draft } from '../support/ticket-draft';

/** What each helpdesk adapter sends and how it maps the hub's draft, beyond the shared contract. */
const posted = (requests: Array<{ method: string; path: string; body: string }>, path: RegExp) =>
  requests
    .filter((r) => r.method === 'POST' && path.test(r.path.split('?')[0] ?? ''))
    .map((r) => JSON.parse(r.body));

describe('Freshdesk', () => {
  let freshdesk: FreshdeskEmulator;
  beforeAll(async () => {
    freshdesk = await startFreshdeskEmulator({ apiKey: 'fd-key' });
  });
  afterAll(async () => freshdesk?.close());
  beforeEach(() => freshdesk.reset());
  const adapter = (extra: Partial<ConstructorParameters<typeof FreshdeskTicketing>[0]> = {}) =>
    new FreshdeskTicketing({ baseUrl: freshdesk.url, apiKey: 'fd-key', timeoutMs: 5_000, ...extra });

  it('maps priority, category and requester, and tags the ticket with its request id', async () => {
    await adapter({
      typeByCategory: { orders: 'Question' },
      customFields: { cf_hub_category: '{category}' },
    }).createTicket(
      draft({
        priority: 'urgent',
        customer: {
          channel: 'webchat',
          tenant: 'default',
          userId: 'u1',
          name: 'Alex',
          email: 'alex@example.com',
        },
      }),
      ctx('HUB-FD000001'),
    );
    const [body] = posted(freshdesk.requests, /^\/api\/v2\/tickets$/);
    expect(body).toMatchObject({
      priority: 4,
      status: 2,
      source: 7,
      email: 'alex@example.com',
      name: 'Alex',
      type: 'Question',
      custom_fields: { cf_hub_category: 'orders' },
    });
    expect(body.tags).toEqual(['hub', 'handoff', freshdeskIdempotencyTag('HUB-FD000001')]);
    // HTML, line breaks kept.
    expect(body.description).toMatch(/^<div>The customer asked to talk to a person\.<br>/);
    expect(freshdesk.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('fd-key:X').toString('base64')}`,
    );
  });

  it('names a customer without e-mail or phone by an external id', async () => {
    await adapter().createTicket(
      draft({ customer: { channel: 'telegram', tenant: 'default', userId: '42' } }),
      ctx('HUB-FD000002'),
    );
    const [body] = posted(freshdesk.requests, /^\/api\/v2\/tickets$/);
    expect(body.unique_external_id).toBe('hub:telegram:default:42');
    expect(body.email).toBeUndefined();
  });

  it('finds a ticket older than the recent window through the search API', async () => {
    const first = await adapter().createTicket(draft(), ctx('HUB-FD000003'));
    const later = adapter({ now: () => Date.now() + 3 * 3_600_000 });
    const again = await later.createTicket(draft(), ctx('HUB-FD000003'));
    expect(again.externalId).toBe(first.externalId);
    expect(freshdesk.tickets).toHaveLength(1);
    expect(freshdesk.requests.some((r) => r.path.startsWith('/api/v2/search/tickets'))).toBe(true);
  });

  it('sends public comments as replies and internal ones as private notes', async () => {
    const ref = await adapter().createTicket(draft(), ctx('HUB-FD000004'));
    await adapter().addComment(
      ref.externalId,
      { author: 'bot', text: 'a < b & c', public: false },
      ctx('c1'),
    );
    await adapter().addComment(ref.externalId, { author: 'agent', text: 'Hello', public: true }, ctx('c2'));
    expect(posted(freshdesk.requests, /\/notes$/)).toEqual([
      { body: '<div>a &lt; b &amp; c</div>', private: true },
    ]);
    expect(posted(freshdesk.requests, /\/reply$/)).toEqual([{ body: '<div>Hello</div>' }]);
    const ticket = await adapter().getTicket(ref.externalId, ctx('read'));
    expect(ticket?.comments.slice(1).map((c) => c.text)).toEqual(['a < b & c', 'Hello']);
  });
});

describe('Jira Service Management', () => {
  let jira: JiraEmulator;
  beforeAll(async () => {
    jira = await startJiraEmulator({
      email: 'bot@example.com',
      apiToken: 'jt',
      serviceDeskId: '1',
      requestTypes: {
        '10': ['summary', 'description', 'labels', 'priority'],
        '11': ['summary', 'description', 'labels'],
      },
    });
  });
  afterAll(async () => jira?.close());
  beforeEach(() => jira.reset());
  const adapter = (extra: Partial<ConstructorParameters<typeof JiraSmTicketing>[0]> = {}) =>
    new JiraSmTicketing({
      baseUrl: jira.url,
      email: 'bot@example.com',
      apiToken: 'jt',
      serviceDeskId: '1',
      requestTypeId: '10',
      timeoutMs: 5_000,
      ...extra,
    });

  it('picks the request type by category, labels the request and sends the priority when asked', async () => {
    await adapter({ sendPriority: true }).createTicket(
      draft({ priority: 'high', subject: 'x'.repeat(300) }),
      ctx('HUB-JS000001'),
    );
    await adapter({ requestTypeByCategory: { returns: '11' } }).createTicket(
      draft({ category: 'returns' }),
      ctx('HUB-JS000002'),
    );
    const [first, second] = posted(jira.requests, /^\/rest\/servicedeskapi\/request$/);
    expect(first.requestTypeId).toBe('10');
    expect(first.requestFieldValues.priority).toEqual({ name: 'High' });
    expect(first.requestFieldValues.summary).toHaveLength(255);
    expect(first.requestFieldValues.labels).toContain(jiraIdempotencyLabel('HUB-JS000001'));
    expect(second.requestTypeId).toBe('11');
    expect(second.requestFieldValues.priority).toBeUndefined();
    // Looked up by JQL on the label, through the current search endpoint.
    const search = jira.requests.find((r) => r.path.startsWith('/rest/api/3/search/jql'));
    expect(new URL(search?.path ?? '', 'http://x').searchParams.get('jql')).toBe(
      `labels = "${jiraIdempotencyLabel('HUB-JS000001')}"`,
    );
  });

  it('refuses, without retry, a field the request type does not show', async () => {
    const error = await failure(
      adapter({ sendPriority: true, requestTypeByCategory: { returns: '11' } }).createTicket(
        draft({ category: 'returns' }),
        ctx('HUB-JS000003'),
      ),
    );
    expect(error.code).toBe('adapter.invalid');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("Field 'priority' is not valid");
  });

  it('leaves a request already in the wanted status alone and names the transitions when none fits', async () => {
    const ref = await adapter().createTicket(draft(), ctx('HUB-JS000004'));
    await adapter().setStatus(ref.externalId, 'new', ctx('s1'));
    expect(jira.requests.filter((r) => r.path.endsWith('/transition'))).toHaveLength(0);
    await adapter().setStatus(ref.externalId, 'solved', ctx('s2'));
    await adapter().setStatus(ref.externalId, 'closed', ctx('s3'));
    expect((await adapter().getTicket(ref.externalId, ctx('r')))?.status).toBe('closed');
    const error = await failure(adapter().setStatus(ref.externalId, 'pending', ctx('s4')));
    expect(error.code).toBe('adapter.invalid');
    expect(error.message).toContain('available: none');
    expect(error.message).toContain('ticketing.jiraSm.transitions.pending');
  });

  it('uses configured transition names first', async () => {
    const ref = await adapter().createTicket(draft(), ctx('HUB-JS000005'));
    await adapter({ transitions: { solved: ['Cancel request'] } }).setStatus(
      ref.externalId,
      'solved',
      ctx('s'),
    );
    // "Cancel request" leads to Canceled, which the hub reads as closed.
    expect(posted(jira.requests, /\/transition$/)).toEqual([{ id: '41' }]);
    expect((await adapter().getTicket(ref.externalId, ctx('r')))?.status).toBe('closed');
  });
});

describe('ServiceNow', () => {
  let sn: ServiceNowEmulator;
  const oauth = { clientId: 'hub-client', clientSecret: 'hub-secret' };
  beforeAll(async () => {
    sn = await startServiceNowEmulator({ username: 'hub.integration', password: 'pw', oauth });
  });
  afterAll(async () => sn?.close());
  beforeEach(() => sn.reset());
  const basic = (extra: Partial<ConstructorParameters<typeof ServiceNowTicketing>[0]> = {}) =>
    new ServiceNowTicketing({
      instanceUrl: sn.url,
      auth: { type: 'basic', username: 'hub.integration', password: 'pw' },
      timeoutMs: 5_000,
      ...extra,
    });
  const withOauth = (secret = oauth.clientSecret) =>
    new ServiceNowTicketing({
      instanceUrl: sn.url,
      auth: {
        type: 'oauth2',
        tokenUrl: `${sn.url}/oauth_token.do`,
        clientId: oauth.clientId,
        clientSecret: secret,
      },
      timeoutMs: 5_000,
    });

  it('writes urgency, impact, category and correlation_id, and reads the derived priority', async () => {
    const adapter = basic({ categoryByCategory: { orders: 'order_management' }, callerId: 'a'.repeat(32) });
    const ref = await adapter.createTicket(draft({ priority: 'urgent' }), ctx('HUB-SN000001'));
    expect(sn.incidents[0]).toMatchObject({
      urgency: '1',
      impact: '1',
      priority: '1',
      category: 'order_management',
      correlation_id: 'HUB-SN000001',
      caller_id: 'a'.repeat(32),
    });
    expect((await adapter.getTicket(ref.externalId, ctx('r')))?.priority).toBe('urgent');
    const lookup = sn.requests.find((r) => r.method === 'GET');
    expect(new URL(lookup?.path ?? '', 'http://x').searchParams.get('sysparm_query')).toBe(
      'correlation_id=HUB-SN000001',
    );
  });

  it('keeps customer-visible comments and work notes apart, and puts an incident on hold as pending', async () => {
    const adapter = basic();
    const ref = await adapter.createTicket(draft(), ctx('HUB-SN000002'));
    await adapter.addComment(ref.externalId, { author: 'bot', text: 'internal', public: false }, ctx('c1'));
    await adapter.addComment(ref.externalId, { author: 'bot', text: 'visible', public: true }, ctx('c2'));
    expect(sn.journal.map((j) => [j.element, j.value])).toEqual([
      ['work_notes', 'internal'],
      ['comments', 'visible'],
    ]);
    await adapter.setStatus(ref.externalId, 'pending', ctx('s'));
    expect(sn.incidents[0]).toMatchObject({ state: '3', hold_reason: '1' });
    await adapter.setStatus(ref.externalId, 'solved', ctx('s'));
    expect(sn.incidents[0]).toMatchObject({ state: '6', close_code: 'Solution provided' });
  });

  it('reports a data-policy refusal as an invalid payload, not as bad credentials', async () => {
    const adapter = basic({ closeCode: '' });
    const ref = await adapter.createTicket(draft(), ctx('HUB-SN000003'));
    const error = await failure(adapter.setStatus(ref.externalId, 'solved', ctx('s')));
    expect(error.code).toBe('adapter.invalid');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Data Policy Exception');
  });

  it('fetches an OAuth token once, and a new one after a 401', async () => {
    const adapter = withOauth();
    const ref = await adapter.createTicket(draft(), ctx('HUB-SN000004'));
    await adapter.addComment(ref.externalId, { author: 'bot', text: 'x', public: false }, ctx('c'));
    expect(sn.tokensIssued()).toBe(1);
    sn.expireTokens();
    await adapter.setStatus(ref.externalId, 'open', ctx('s'));
    expect(sn.tokensIssued()).toBe(2);
    expect(sn.incidents[0]?.state).toBe('2');
    const error = await failure(withOauth('wrong').createTicket(draft(), ctx('HUB-SN000005')));
    expect(error.code).toBe('adapter.auth');
    expect(error.retryable).toBe(false);
  });

  it('hashes an idempotency key that is not safe inside an encoded query', async () => {
    await basic().createTicket(draft(), ctx('a^b=c'));
    expect(sn.incidents[0]?.correlation_id).toMatch(/^hub-[0-9a-f]{40}$/);
  });
});

describe('generic webhook', () => {
  const secret = 'whsec-0123456789abcdef';
  let sink: WebhookSinkEmulator;
  beforeAll(async () => {
    sink = await startWebhookSink({ secret });
  });
  afterAll(async () => sink?.close());
  beforeEach(() => sink.reset());

  it('signs the ticket JSON and sends the request id as Idempotency-Key', async () => {
    const adapter = new WebhookTicketing({ url: `${sink.url}/tickets`, secret, timeoutMs: 5_000 });
    const ref = await adapter.createTicket(draft(), ctx('HUB-WH000001'));
    expect(ref).toEqual({ externalId: 'WH-1', url: `${sink.url}/ui/WH-1` });
    const request = sink.requests[0];
    expect(request?.headers['idempotency-key']).toBe('HUB-WH000001');
    expect(request?.headers['x-hub-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const body = JSON.parse(request?.body ?? '{}');
    expect(body).toMatchObject({ event: 'ticket.create', reference: 'HUB-WH000001', tenant: 'default' });
    expect(body.ticket.description).toContain('Entity order_id: XX12345678');
  });

  it('a receiver refusing the signature is an auth error, not retried', async () => {
    const adapter = new WebhookTicketing({
      url: `${sink.url}/tickets`,
      secret: 'another-secret-0000',
      timeoutMs: 5_000,
    });
    const error = await failure(adapter.createTicket(draft(), ctx('HUB-WH000002')));
    expect(error.code).toBe('adapter.auth');
    expect(error.retryable).toBe(false);
    expect(sink.lastRefusal()).toBe('bad signature');
  });

  it('refuses comments, reads and status changes it has no URL for', async () => {
    const adapter = new WebhookTicketing({ url: `${sink.url}/tickets`, secret, timeoutMs: 5_000 });
    for (const call of [
      adapter.addComment('WH-1', { author: 'bot', text: 'x', public: false }, ctx('c')),
      adapter.getTicket('WH-1', ctx('r')),
      adapter.setStatus('WH-1', 'solved', ctx('s')),
    ]) {
      const error = await failure(call);
      expect(error.code).toBe('adapter.unsupported');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/ticketing\.webhook\.(commentUrl|ticketUrl|statusUrl) is not set/);
    }
    expect(sink.requests).toHaveLength(0);
  });

  it('a 2xx answer without an id is a broken receiver contract', async () => {
    // A receiver that queues the ticket and answers 202 {"status": "queued"}.
    const adapter = new WebhookTicketing({ url: `${sink.url}/queue`, secret, timeoutMs: 5_000 });
    const error = await failure(adapter.createTicket(draft(), ctx('HUB-WH000003')));
    expect(error.code).toBe('adapter.invalid');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('{"id"');
  });
});

describe('ticketing config', () => {
  it.each([
    ['freshdesk', 'ticketing.freshdesk is missing'],
    ['jiraSm', 'ticketing.jiraSm is missing'],
    ['servicenow', 'ticketing.servicenow is missing'],
    ['webhook', 'ticketing.webhook is missing'],
  ])('driver %s needs its section', (driver, message) => {
    const result = ticketingConfigSchema.safeParse({ driver });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join('\n')).toContain(message);
  });

  it('refuses ServiceNow without credentials and a short webhook secret', () => {
    const sn = ticketingConfigSchema.safeParse({
      driver: 'servicenow',
      servicenow: { instanceUrl: 'https://x.service-now.com' },
    });
    expect(sn.error?.issues.map((i) => i.message).join('\n')).toContain(
      'ticketing.servicenow.auth is missing',
    );
    const wh = ticketingConfigSchema.safeParse({
      driver: 'webhook',
      webhook: { url: 'https://x.example', secret: 'short' },
    });
    expect(wh.error?.issues.map((i) => i.message).join('\n')).toContain('at least 16 characters');
  });

  it('builds each adapter by driver name', () => {
    const config = ticketingConfigSchema.parse({
      freshdesk: { baseUrl: 'https://acme.freshdesk.com', apiKey: 'k' },
      jiraSm: {
        baseUrl: 'https://acme.atlassian.net',
        email: 'a@b.c',
        apiToken: 't',
        serviceDeskId: 1,
        requestTypeId: 10,
      },
      servicenow: {
        instanceUrl: 'https://acme.service-now.com',
        auth: { type: 'basic', username: 'u', password: 'p' },
      },
      webhook: { url: 'https://hooks.example/tickets', secret: 'whsec-0123456789abcdef' },
    });
    for (const driver of ['freshdesk', 'jiraSm', 'servicenow', 'webhook'] as const) {
      expect(createTicketing({ ...config, driver }, { db: undefined as never }).name).toBe(driver);
    }
  });
});
