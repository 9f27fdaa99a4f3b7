import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { OperatorStore } from '../../core/security/operator-store';
import type { KyselyStore } from '../../core/store';
import { freePort, startTestIssuer, type TestIssuer } from '../support/oidc-provider';

/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider, in this process): the
 * hub's code + PKCE login, account matching and creation, and what it refuses. The issuer's login
 * and consent forms are submitted over HTTP as a browser would (the Chromium e2e does it in a browser).
 */

let issuer: TestIssuer;
let hub: RunningHub;
let hubUrl: string;
let operators: OperatorStore;
let savedToken: string | undefined;

interface Outcome {
  callbackUrl: string;
  status: number;
  location: string | null;
  cookie?: string;
  body: string;
}

/** Start at the hub, follow redirects, fill the issuer's login and consent forms, stop at the hub's callback. */
async function signInAtIssuer(login: string): Promise<Outcome> {
  const jar = new Map<string, string>();
  let url = `${hubUrl}/auth/oidc/start?next=/agent`;
  let init: RequestInit = {};
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    let sessionCookie: string | undefined;
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
      if (pair.startsWith('hub_session=')) sessionCookie = pair;
    }
    if (url.startsWith(`${hubUrl}/auth/oidc/callback`)) {
      return {
        callbackUrl: url,
        status: response.status,
        location: response.headers.get('location'),
        ...(sessionCookie ? { cookie: sessionCookie } : {}),
        body: await response.text(),
      };
    }
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location') as string, url).href;
      init = {};
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no form at ${url} (${response.status}): ${html.slice(0, 300)}`);
    const fields: Record<string, string> =
      prompt === 'login' ? { prompt, login, password: 'whatever' } : { prompt };
    url = new URL(action.replaceAll('&amp;', '&'), url).href;
    init = {
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }
  throw new Error('too many redirects');
}

const me = async (cookie: string | undefined) =>
  fetch(`${hubUrl}/admin/me`, { headers: cookie ? { cookie } : {} });

beforeAll(async () => {
  savedToken = process.env.HUB_ADMIN_TOKEN;
  process.env.HUB_ADMIN_TOKEN = 'oidc-test-bootstrap-token-000000000';
  const port = await freePort();
  hubUrl = `http://127.0.0.1:${port}`;
  issuer = await startTestIssuer(`${hubUrl}/auth/oidc/callback`, {
    mia: { email: 'Mia@Example.com', name: 'Mia Chen', role: 'agent' },
    sam: { email: 'sam@example.com', name: 'Sam Ito' },
    dora: { email: 'dora@example.com', name: 'Dora Disabled' },
    nico: { email: 'nico@example.com', name: 'Nico Unverified', emailVerified: false },
    eve: { email: 'eve@elsewhere.org', name: 'Eve Outsider', role: 'admin' },
  });
  hub = await startHub(
    hubConfigSchema.parse({
      server: { port },
      database: { driver: 'pglite', dataDir: 'memory://' },
      security: {
        oidc: {
          issuer: issuer.issuer,
          clientId: issuer.clientId,
          clientSecret: issuer.clientSecret,
          redirectUri: `${hubUrl}/auth/oidc/callback`,
          roleClaim: 'hub_role',
          defaultRole: 'analyst',
          allowedDomains: ['example.com'],
          allowInsecureIssuer: true,
        },
      },
    }),
  );
  operators = new OperatorStore((hub.store as KyselyStore).db);
  await operators.create({ email: 'sam@example.com', role: 'supervisor', tenants: ['acme'] });
  await operators.create({ email: 'dora@example.com', role: 'agent', tenants: ['default'] });
  await operators.disable('dora@example.com');
});

afterAll(async () => {
  await hub?.stop();
  await issuer?.close();
  if (savedToken === undefined) delete process.env.HUB_ADMIN_TOKEN;
  else process.env.HUB_ADMIN_TOKEN = savedToken;
});

describe('OpenID Connect sign-in (code + PKCE) against oidc-provider', { timeout: 60_000 }, () => {
  it('creates the operator at the first sign-in with the role the issuer names, and finds them again', async () => {
    const first = await signInAtIssuer('mia');
    expect(first.status).toBe(302);
    expect(first.location).toBe('/agent');
    expect(first.cookie).toMatch(/^hub_session=/);
    const who = (await (await me(first.cookie)).json()) as { operator: Record<string, unknown> };
    expect(who.operator).toMatchObject({
      kind: 'operator',
      email: 'mia@example.com',
      displayName: 'Mia Chen',
      role: 'agent',
      tenants: ['default'],
    });
    const second = await signInAtIssuer('mia');
    const again = (await (await me(second.cookie)).json()) as { operator: { id: string } };
    expect(again.operator.id).toBe(who.operator.id);
    expect((await operators.list()).filter((o) => o.email === 'mia@example.com')).toHaveLength(1);
  });

  it('binds an account made with `hub operators create` by its verified e-mail, keeping its role', async () => {
    const outcome = await signInAtIssuer('sam');
    const who = (await (await me(outcome.cookie)).json()) as { operator: Record<string, unknown> };
    expect(who.operator).toMatchObject({ email: 'sam@example.com', role: 'supervisor', tenants: ['acme'] });
  });

  it('refuses a domain not allowed, an unverified e-mail for an existing account, and a disabled operator', async () => {
    for (const [login, code] of [
      ['eve', 'oidc.domain'],
      ['dora', 'oidc.disabled'],
    ] as const) {
      const outcome = await signInAtIssuer(login);
      expect(outcome.status, login).toBe(403);
      expect(JSON.parse(outcome.body).error.code, login).toBe(code);
      expect(outcome.cookie, login).toBeUndefined();
    }
    await operators.create({ email: 'nico@example.com', role: 'admin', tenants: ['*'] });
    const unverified = await signInAtIssuer('nico');
    expect(JSON.parse(unverified.body).error.code).toBe('oidc.unverified');
    expect((await operators.list()).find((o) => o.email === 'eve@elsewhere.org')).toBeUndefined();
  });

  it('takes a callback once: a replayed code and state sign nobody in', async () => {
    const outcome = await signInAtIssuer('mia');
    expect(outcome.status).toBe(302);
    const replay = await fetch(outcome.callbackUrl, { redirect: 'manual' });
    expect(replay.status).toBe(403);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('oidc.unknown_state');
    expect(replay.headers.getSetCookie().some((c) => c.startsWith('hub_session='))).toBe(false);
  });
});
