import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHelpdesk, helpdesks } from '../../adapters/ticketing';
import { WebhookTicketing } from '../../adapters/ticketing/webhook';
import {
  builtinPlugins,
  checkPluginsOnline,
  formatPluginOnlineResult,
  type PluginOnlineResult,
} from '../../app/plugins';
import { parseConfig } from '../../core/config/load';
import { writeConfig } from '../e2e/hub-process';
import { createElasticsearchEmulator, type ServedElasticsearch } from '../emulators/elasticsearch-emulator';
import { type ErpEmulator, startErpEmulator } from '../emulators/erp-emulator';
import { type FreshdeskEmulator, startFreshdeskEmulator } from '../emulators/freshdesk-emulator';
import { type JiraEmulator, startJiraEmulator } from '../emulators/jira-emulator';
import { type OdooEmulator, startOdooEmulator } from '../emulators/odoo-emulator';
import { type SapEmulator, startSapEmulator } from '../emulators/sap-emulator';
import { type ServiceNowEmulator, startServiceNowEmulator } from '../emulators/servicenow-emulator';
import { type ShopifyEmulator, startShopifyEmulator } from '../emulators/shopify-emulator';
import { startZendeskEmulator, type ZendeskEmulator } from '../emulators/zendesk-emulator';

const ROOT = join(import.meta.dirname, '..', '..');
const EMAIL = 'hub@example.com';
const ZD_TOKEN = 'FAKE_zendesk_online_token_0001';
const FD_KEY = 'FAKE_freshdesk_online_key_0001';
const JIRA_TOKEN = 'FAKE_jira_online_api_token_0001';
const SN_PASSWORD = 'FAKE_servicenow_online_pw_0001';
const SN_CLIENT_SECRET = 'FAKE_servicenow_client_secret_01';
const ODOO_KEY = 'FAKE_odoo_online_api_key_000001';
const SAP_PASSWORD = 'FAKE_sap_online_password_00001';
const SHOPIFY_TOKEN = 'shpat_FAKEonlineshopifytoken0001';
const ERP_SECRET = 'FAKE_rest_erp_client_secret_001';
const ES_KEY = 'RkFLRV9lc19vbmxpbmVfYXBpX2tleQ==';
const WRONG = 'FAKE_wrong_credential_value_0001';
const SECRETS = [
  ZD_TOKEN,
  FD_KEY,
  JIRA_TOKEN,
  SN_PASSWORD,
  SN_CLIENT_SECRET,
  ODOO_KEY,
  SAP_PASSWORD,
  SHOPIFY_TOKEN,
  ERP_SECRET,
  ES_KEY,
  WRONG,
];

let zendesk: ZendeskEmulator;
let endUserDesk: ZendeskEmulator;
let freshdesk: FreshdeskEmulator;
let jira: JiraEmulator;
let servicenow: ServiceNowEmulator;
let odoo: OdooEmulator;
let sap: SapEmulator;
let shopify: ShopifyEmulator;
let restErp: ErpEmulator;
let elasticsearch: ServedElasticsearch;

beforeAll(async () => {
  [zendesk, endUserDesk, freshdesk, jira, servicenow, odoo, sap, shopify, restErp, elasticsearch] =
    await Promise.all([
      startZendeskEmulator({ email: EMAIL, apiToken: ZD_TOKEN }),
      startZendeskEmulator({ email: 'customer@example.com', apiToken: ZD_TOKEN, role: 'end-user' }),
      startFreshdeskEmulator({ apiKey: FD_KEY }),
      startJiraEmulator({ email: EMAIL, apiToken: JIRA_TOKEN, serviceDeskId: '4' }),
      startServiceNowEmulator({
        username: 'hub.integration',
        password: SN_PASSWORD,
        oauth: { clientId: 'hub-client', clientSecret: SN_CLIENT_SECRET },
      }),
      startOdooEmulator({ db: 'hub', login: EMAIL, apiKey: ODOO_KEY }),
      startSapEmulator({ username: 'HUB_COMM', password: SAP_PASSWORD }),
      startShopifyEmulator({ accessToken: SHOPIFY_TOKEN }),
      startErpEmulator({ clientId: 'hub', clientSecret: ERP_SECRET }),
      createElasticsearchEmulator().serve({ apiKey: ES_KEY }),
    ]);
});

afterAll(async () => {
  await Promise.all(
    [zendesk, endUserDesk, freshdesk, jira, servicenow, odoo, sap, shopify, restErp, elasticsearch].map(
      (emulator) => emulator?.close(),
    ),
  );
});

/** The configured plug-ins' online results, by section, and their printed lines. */
async function online(sections: Record<string, unknown>, timeoutMs = 5_000) {
  const results = await checkPluginsOnline(parseConfig(sections), { timeoutMs });
  const lines = results.map(formatPluginOnlineResult);
  for (const secret of SECRETS) expect(lines.join('\n')).not.toContain(secret);
  const bySection = Object.fromEntries(results.map((result) => [result.section, result])) as Record<
    'erp' | 'ticketing' | 'knowledge',
    PluginOnlineResult
  >;
  return { ...bySection, lines };
}

const helpdesk = (driver: string, block: Record<string, unknown>) =>
  online({ ticketing: { driver, [driver]: block } }).then((result) => result.ticketing);
const erp = (driver: string, block: Record<string, unknown>) =>
  online({ erp: { driver, [driver]: block } }).then((result) => result.erp);

describe('hub validate --online: the helpdesk', () => {
  it('Zendesk: GET /api/v2/users/me names an agent or admin; a wrong token or an end user fails', async () => {
    const block = { baseUrl: zendesk.url, email: EMAIL, apiToken: ZD_TOKEN };
    expect(await helpdesk('zendesk', block)).toEqual({
      section: 'ticketing',
      type: 'zendesk',
      outcome: 'ok',
      detail: `admin ${EMAIL}`,
    });
    expect(zendesk.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v2/users/me' });
    const wrong = await helpdesk('zendesk', { ...block, apiToken: WRONG });
    expect(wrong.outcome).toBe('failed');
    expect(wrong.detail).toMatch(
      /^GET \/api\/v2\/users\/me: Zendesk answered 401: .*Couldn't authenticate you.*\. Fix: check ticketing\.zendesk\.email and apiToken \(ZENDESK_API_TOKEN/,
    );
    const endUser = await helpdesk('zendesk', {
      baseUrl: endUserDesk.url,
      email: 'customer@example.com',
      apiToken: ZD_TOKEN,
    });
    expect(endUser.detail).toMatch(/customer@example\.com is an end user.*Fix: use an agent's or an admin's/);
  });

  it('Freshdesk: GET /api/v2/agents/me; Jira Service Management: GET /rest/api/3/myself', async () => {
    const fd = { baseUrl: freshdesk.url, apiKey: FD_KEY };
    expect(await helpdesk('freshdesk', fd)).toMatchObject({ outcome: 'ok', detail: 'agent hub@example.com' });
    expect(freshdesk.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v2/agents/me' });
    const fdWrong = await helpdesk('freshdesk', { ...fd, apiKey: WRONG });
    expect(fdWrong.detail).toMatch(
      /^GET \/api\/v2\/agents\/me: Freshdesk answered 401: .*invalid_credentials.*Fix: check ticketing\.freshdesk\.apiKey/,
    );

    const js = {
      baseUrl: jira.url,
      email: EMAIL,
      apiToken: JIRA_TOKEN,
      serviceDeskId: '4',
      requestTypeId: '10',
    };
    expect(await helpdesk('jiraSm', js)).toMatchObject({
      outcome: 'ok',
      detail: `account Hub Integration <${EMAIL}>`,
    });
    expect(jira.requests.at(-1)).toMatchObject({ method: 'GET', path: '/rest/api/3/myself' });
    const jsWrong = await helpdesk('jiraSm', { ...js, apiToken: WRONG });
    expect(jsWrong.detail).toMatch(
      /^GET \/rest\/api\/3\/myself: Jira Service Management answered 401: .*Client must be authenticated.*Fix: check ticketing\.jiraSm\.email and apiToken/,
    );
  });

  it('ServiceNow: one row of the table, with basic auth or after an OAuth token', async () => {
    const basic = { type: 'basic', username: 'hub.integration', password: SN_PASSWORD };
    expect(await helpdesk('servicenow', { instanceUrl: servicenow.url, auth: basic })).toMatchObject({
      outcome: 'ok',
      detail: 'table incident readable with user hub.integration',
    });
    expect(servicenow.requests.at(-1)?.path).toBe(
      '/api/now/table/incident?sysparm_limit=1&sysparm_fields=sys_id',
    );
    const wrong = await helpdesk('servicenow', {
      instanceUrl: servicenow.url,
      auth: { ...basic, password: WRONG },
    });
    expect(wrong.detail).toMatch(
      /^GET \/api\/now\/table\/incident: ServiceNow answered 401: .*User Not Authenticated.*Fix: check ticketing\.servicenow\.auth\.username and password/,
    );

    const oauth = {
      type: 'oauth2',
      tokenUrl: `${servicenow.url}/oauth_token.do`,
      clientId: 'hub-client',
      clientSecret: SN_CLIENT_SECRET,
    };
    const tokens = servicenow.tokensIssued();
    expect(await helpdesk('servicenow', { instanceUrl: servicenow.url, auth: oauth })).toMatchObject({
      outcome: 'ok',
      detail: 'table incident readable with an OAuth token for client hub-client',
    });
    expect(servicenow.tokensIssued()).toBe(tokens + 1);
    const refused = await helpdesk('servicenow', {
      instanceUrl: servicenow.url,
      auth: { ...oauth, clientSecret: WRONG },
    });
    expect(refused.detail).toMatch(
      /^GET \/api\/now\/table\/incident: ServiceNow token endpoint answered 401: .*access_denied.*Fix: check ticketing\.servicenow\.auth\.tokenUrl, clientId and clientSecret/,
    );
  });

  it('the generic webhook and the demo helpdesk have nothing to ask', async () => {
    const webhook = await helpdesk('webhook', {
      url: 'http://127.0.0.1:9/tickets',
      secret: 'FAKE_webhook_secret_00000000000001',
    });
    expect(formatPluginOnlineResult(webhook)).toBe(
      'ticketing (webhook): skipped (a signed webhook has no read API to ask)',
    );
    const results = await online({});
    expect(results.lines).toEqual([
      'erp (demo): skipped (local: orders from a file)',
      "ticketing (demo): skipped (local: tickets in the hub's database)",
      'knowledge (embedded): skipped (in-process: nothing to reach)',
    ]);
  });

  it('a helpdesk that does not answer fails at the deadline', async () => {
    zendesk.fail({ status: 200, hang: true });
    const started = Date.now();
    const { ticketing } = await online(
      {
        ticketing: { driver: 'zendesk', zendesk: { baseUrl: zendesk.url, email: EMAIL, apiToken: ZD_TOKEN } },
      },
      300,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(formatPluginOnlineResult(ticketing)).toBe(
      'ticketing (zendesk): FAILED: no answer in 0.3 s. Fix: check the API URL and the network.',
    );
  });
});

describe('hub validate --online: any plug-in', () => {
  // A throw-away helpdesk whose check quotes its token, as a careless check or an echoing server would.
  const leakyDesk = defineHelpdesk({
    name: 'leaky',
    options: z.object({
      url: z.string().url(),
      apiToken: z.string(),
      mode: z.enum(['ok', 'fail', 'skip', 'none']),
    }),
    create: (options) =>
      new WebhookTicketing({ url: options.url, secret: options.apiToken, timeoutMs: 1_000 }),
    online: async (options) => {
      if (options.mode === 'fail') throw new Error(`token ${options.apiToken} refused. Fix: a new token.`);
      if (options.mode === 'skip') return { skipped: `nothing to ask with ${options.apiToken}` };
      return `signed in with ${options.apiToken}`;
    },
  });
  const silentDesk = defineHelpdesk({ ...leakyDesk, name: 'silent', online: undefined });
  const plugins = { ...builtinPlugins, helpdesks: helpdesks.with(leakyDesk, silentDesk) };
  const check = async (driver: string, mode: string) => {
    const block = { url: 'http://127.0.0.1:9/tickets', apiToken: 'FAKE_leaky_token_000001', mode };
    const config = parseConfig({ ticketing: { driver, [driver]: block } });
    const [, ticketing] = await checkPluginsOnline(config, { plugins, timeoutMs: 1_000 });
    return formatPluginOnlineResult(ticketing as PluginOnlineResult);
  };

  it('redacts every secret of the block from the line, whatever the check says', async () => {
    expect(await check('leaky', 'ok')).toBe('ticketing (leaky): ok — signed in with [redacted]');
    expect(await check('leaky', 'fail')).toBe(
      'ticketing (leaky): FAILED: token [redacted] refused. Fix: a new token.',
    );
    expect(await check('leaky', 'skip')).toBe('ticketing (leaky): skipped (nothing to ask with [redacted])');
  });

  it('a plug-in without an online check is reported as skipped', async () => {
    expect(await check('silent', 'ok')).toBe('ticketing (silent): skipped (no online check for this type)');
  });
});

describe('hub validate --online: the ERP', () => {
  it('Odoo: common.authenticate gives a uid; false means a wrong database, login or key', async () => {
    const block = { baseUrl: odoo.url, db: 'hub', login: EMAIL, apiKey: ODOO_KEY };
    expect(await erp('odoo', block)).toMatchObject({
      outcome: 'ok',
      detail: `${EMAIL} on database hub (uid 2)`,
    });
    expect(odoo.calls.at(-1)).toMatchObject({ service: 'common', method: 'authenticate' });
    const wrong = await erp('odoo', { ...block, apiKey: WRONG });
    expect(formatPluginOnlineResult(wrong)).toMatch(
      /^erp \(odoo\): FAILED: common\.authenticate: Odoo refused the login on database "hub"\. Fix: check erp\.odoo\.db, login and apiKey/,
    );
  });

  it("SAP: API_SALES_ORDER_SRV's $metadata must describe A_SalesOrder", async () => {
    const block = { baseUrl: sap.url, auth: { type: 'basic', username: 'HUB_COMM', password: SAP_PASSWORD } };
    expect(await erp('sap', block)).toMatchObject({
      outcome: 'ok',
      detail: 'API_SALES_ORDER_SRV metadata, 2 entity sets',
    });
    expect(sap.requests.at(-1)?.path).toBe('/sap/opu/odata/sap/API_SALES_ORDER_SRV/$metadata');
    const wrong = await erp('sap', { ...block, auth: { ...block.auth, password: WRONG } });
    expect(wrong.detail).toMatch(
      /^GET API_SALES_ORDER_SRV\/\$metadata: SAP answered 401: .*Logon failed.*Fix: check erp\.sap\.auth\.username and password/,
    );
    const elsewhere = await erp('sap', { ...block, servicePath: '/sap/opu/odata4' });
    expect(elsewhere.detail).toMatch(
      /does not describe the A_SalesOrder entity set\. Fix: check erp\.sap\.baseUrl and servicePath \(now \/sap\/opu\/odata4\)/,
    );
  });

  it('Shopify: the Admin GraphQL query { shop { name } }', async () => {
    const block = { shopUrl: shopify.url, accessToken: SHOPIFY_TOKEN };
    expect(await erp('shopify', block)).toMatchObject({
      outcome: 'ok',
      detail: 'shop Hub Demo Shop (Admin API 2025-10)',
    });
    expect(shopify.requests.at(-1)?.query).toBe('{ shop { name } }');
    const wrong = await erp('shopify', { ...block, accessToken: WRONG });
    expect(wrong.detail).toMatch(
      /^Admin GraphQL \{ shop \{ name \} \}: Shopify answered 401: .*Invalid API key or access token.*Fix: check erp\.shopify\.accessToken/,
    );
  });

  it('REST: a GET of checkPath with the configured auth, skipped without one', async () => {
    const block = {
      baseUrl: restErp.url,
      auth: {
        type: 'oauth2',
        tokenUrl: `${restErp.url}/oauth/token`,
        clientId: 'hub',
        clientSecret: ERP_SECRET,
      },
      getOrder: { path: '/api/v1/sales-orders/{orderId}', select: '$.data' },
    };
    expect(await erp('rest', block)).toMatchObject({
      outcome: 'skipped',
      detail: 'no erp.rest.checkPath to call',
    });
    const checkPath = '/api/v1/sales-orders?customerEmail=nobody%40example.invalid';
    expect(await erp('rest', { ...block, checkPath })).toMatchObject({
      outcome: 'ok',
      detail: 'GET /api/v1/sales-orders answered with auth oauth2',
    });
    expect(restErp.requests.at(-1)).toMatchObject({ method: 'GET', path: checkPath });
    const wrong = await erp('rest', { ...block, checkPath, auth: { ...block.auth, clientSecret: WRONG } });
    expect(wrong.detail).toMatch(
      /^GET \/api\/v1\/sales-orders: ERP token endpoint answered 401: .*invalid_client.*Fix: check erp\.rest\.auth \(type oauth2\)/,
    );
  });
});

describe('hub validate --online: the retriever', () => {
  it('Elasticsearch: GET / (version) and GET /_license; a wrong API key fails with 401', async () => {
    const knowledge = (block: Record<string, unknown>) =>
      online({ knowledge: { retriever: 'elasticsearch', elasticsearch: block } }).then((r) => r.knowledge);
    expect(await knowledge({ url: elasticsearch.url, apiKey: ES_KEY })).toMatchObject({
      outcome: 'ok',
      detail:
        'Elasticsearch 9.5.7 (cluster docker-cluster), licence basic (active), hybrid search by msearch',
    });
    expect(elasticsearch.hits.slice(-2)).toEqual([
      { method: 'GET', path: '/', status: 200 },
      { method: 'GET', path: '/_license', status: 200 },
    ]);
    const wrong = await knowledge({ url: elasticsearch.url, apiKey: WRONG });
    expect(formatPluginOnlineResult(wrong)).toMatch(
      /^knowledge \(elasticsearch\): FAILED: GET \/: 401 unable to authenticate .*Fix: check knowledge\.elasticsearch\.apiKey \(ELASTICSEARCH_API_KEY\), or username and password\.$/,
    );
    const down = await knowledge({ url: 'http://elastic:FAKE_password_in_the_url@127.0.0.1:9' });
    expect(down.detail).toMatch(
      /^GET \/: no answer from http:\/\/127\.0\.0\.1:9 \(ConnectionError\)\. Fix: check knowledge\.elasticsearch\.url/,
    );
    expect(formatPluginOnlineResult(down)).not.toContain('FAKE_password_in_the_url');
  });
});

/* ---------- Request Tracker 5, for real (skipped where it cannot be installed or started) ---------- */

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
try {
  const dir = mkdtempSync(join(tmpdir(), 'hub-rt-online-'));
  const port = await freePort();
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
  const why = (e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
  console.warn(`Request Tracker online check skipped: RT 5 could not be installed or started here (${why}).`);
}

describe.skipIf(!rt)('hub validate --online: Request Tracker 5 (REST 2.0, real server)', () => {
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

  it('GET /REST/2.0/queues/all must list the queue; wrong credentials fail with 401', async () => {
    const block = { baseUrl: rt?.url, username: 'root', password: 'password', queue: 'General' };
    expect(await helpdesk('rt', block)).toMatchObject({ outcome: 'ok', detail: 'queue General (1 visible)' });
    const wrong = await helpdesk('rt', { ...block, password: WRONG });
    expect(wrong.detail).toMatch(
      /^GET \/REST\/2\.0\/queues\/all: Request Tracker answered 401: .*Unauthorized.*Fix: check ticketing\.rt\.token/,
    );
    const unknownQueue = await helpdesk('rt', { ...block, queue: 'Refunds' });
    expect(unknownQueue.detail).toMatch(
      /queue "Refunds" is not among the queues this user sees \(General\)\. Fix: set ticketing\.rt\.queue/,
    );
  });
});

describe('`hub validate --online FILE` with an ERP, a helpdesk and a retriever', () => {
  it('prints their lines after the channels, exits 1 when one fails, and never a secret', async () => {
    const file = writeConfig({
      channels: [{ id: 'rest', type: 'rest' }],
      erp: { driver: 'odoo', odoo: { baseUrl: odoo.url, db: 'hub', login: EMAIL, apiKey: '${ODOO_KEY}' } },
      ticketing: {
        driver: 'zendesk',
        zendesk: { baseUrl: zendesk.url, email: EMAIL, apiToken: '${ZENDESK_API_TOKEN}' },
      },
      knowledge: {
        retriever: 'elasticsearch',
        elasticsearch: { url: elasticsearch.url, apiKey: '${ELASTICSEARCH_API_KEY}' },
      },
    });
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin', 'hub.mjs'), 'validate', '--online', file], {
          cwd: ROOT,
          env: { ...process.env, NODE_ENV: 'test', ...env },
        });
        let output = '';
        child.stdout.on('data', (chunk) => {
          output += chunk;
        });
        child.stderr.on('data', (chunk) => {
          output += chunk;
        });
        child.on('exit', (code) => resolve({ code, output }));
      });
    const env = { ODOO_KEY, ELASTICSEARCH_API_KEY: ES_KEY };
    const failing = await run({ ...env, ZENDESK_API_TOKEN: WRONG });
    expect(failing.code).toBe(1);
    const lines = failing.output.split('\n').filter((line) => / \(\w+\): /.test(line));
    expect(lines).toEqual([
      'rest (rest): skipped (no platform credentials)',
      `erp (odoo): ok — ${EMAIL} on database hub (uid 2)`,
      expect.stringMatching(/^ticketing \(zendesk\): FAILED: GET \/api\/v2\/users\/me: Zendesk answered 401/),
      'knowledge (elasticsearch): ok — Elasticsearch 9.5.7 (cluster docker-cluster), licence basic (active), hybrid search by msearch',
    ]);
    for (const secret of [ODOO_KEY, ES_KEY, WRONG]) expect(failing.output).not.toContain(secret);
    const passing = await run({ ...env, ZENDESK_API_TOKEN: ZD_TOKEN });
    expect(passing.code).toBe(0);
    expect(passing.output).toMatch(/^ticketing \(zendesk\): ok — admin hub@example\.com$/m);
    expect(passing.output).not.toContain(ZD_TOKEN);
  }, 60_000);
});
