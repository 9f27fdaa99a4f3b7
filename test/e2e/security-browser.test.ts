import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium';
import { freePort, startTestIssuer, type TestIssuer } from '../support/oidc-provider';
import { type WebchatCustomer, webchatCustomer } from '../support/webchat-customer';

/**
 * Security end to end in a real browser: Debian's Chromium signs in at a real OpenID Connect
 * provider's login page (oidc-provider, in this process), lands in the agent workspace as that
 * identity, takes a web chat customer's ticket and replies; the customer sees the agent by the
 * name the issuer vouched for, whatever the page or a request body might claim.
 */
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`security-browser e2e skipped: ${CHROMIUM} is absent (apt-get install chromium)`);
}

const BOOTSTRAP = 'browser-e2e-bootstrap-token-00000000';

let issuer: TestIssuer | undefined;
let hub: RunningHub | undefined;
let browser: BrowserContext | undefined;
let profileDir = '';
let customer: WebchatCustomer | undefined;
let savedToken: string | undefined;
const nextReply = (what: string) => (customer as WebchatCustomer).nextReply(what);

describe.skipIf(!hasChromium)(
  'OIDC sign-in and the agent workspace in Chromium',
  { timeout: 120_000 },
  () => {
    beforeAll(async () => {
      savedToken = process.env.HUB_ADMIN_TOKEN;
      // A bootstrap token is set, so this machine gets no admin door: the browser must sign in.
      process.env.HUB_ADMIN_TOKEN = BOOTSTRAP;
      const port = await freePort();
      const hubUrl = `http://127.0.0.1:${port}`;
      issuer = await startTestIssuer(`${hubUrl}/auth/oidc/callback`, {
        mia: { email: 'mia@example.com', name: 'Mia Chen', role: 'agent' },
      });
      hub = await startHub(
        hubConfigSchema.parse({
          server: { port },
          database: { driver: 'pglite', dataDir: 'memory://' },
          ticketing: { driver: 'demo', outbox: { pollMs: 100 } },
          channels: [{ id: 'webchat', type: 'webchat' }],
          security: {
            oidc: {
              issuer: issuer.issuer,
              clientId: issuer.clientId,
              clientSecret: issuer.clientSecret,
              redirectUri: `${hubUrl}/auth/oidc/callback`,
              roleClaim: 'hub_role',
              allowedDomains: ['example.com'],
              allowInsecureIssuer: true,
            },
          },
        }),
      );
      // No session asked for: the hub names one and sends its signed token in a `session` frame.
      customer = await webchatCustomer(hubUrl);
      profileDir = await mkdtemp(join(tmpdir(), 'hub-chromium-'));
      browser = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      // The provider's page imports a web font; nothing leaves this machine.
      await browser.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
    }, 120_000);

    afterAll(async () => {
      customer?.close();
      await browser?.close();
      await hub?.stop();
      await issuer?.close();
      if (profileDir) await rm(profileDir, { recursive: true, force: true });
      if (savedToken === undefined) delete process.env.HUB_ADMIN_TOKEN;
      else process.env.HUB_ADMIN_TOKEN = savedToken;
    });

    it('signs in at the issuer, takes and answers a ticket as that agent', async () => {
      const hubUrl = hub?.url as string;
      customer?.say('I want to talk to a human', 'b-1');
      const opened = await nextReply('the handoff confirmation');
      const reference = /HUB-[0-9A-Z]{8}/.exec(opened.content?.text ?? '')?.[0] as string;
      expect(reference, opened.content?.text).toBeDefined();

      const page = await (browser as BrowserContext).newPage();
      // The old console address still lands: /agent sends the browser to the console's workspace.
      await page.goto(`${hubUrl}/agent`);
      // Signed out: the console sends the browser to the sign-in page, which offers single sign-on.
      await page.waitForURL(/\/login\?next=/);
      await page.click('#sso');
      // The issuer's own login page, then its consent page.
      await page.waitForURL((url) => url.href.startsWith(issuer?.issuer as string));
      await page.fill('input[name="login"]', 'mia');
      await page.fill('input[name="password"]', 'any password at all');
      await page.click('button[type="submit"]');
      await page.click('button[type="submit"]:has-text("Continue")');
      await page.waitForURL(`${hubUrl}/console/workspace`);
      await expect
        .poll(() => page.textContent('[data-testid=operator]'), { timeout: 15_000 })
        .toBe('Mia Chen (agent)');

      // The session cookie is httpOnly: the page's script cannot read it.
      expect(await page.evaluate('document.cookie')).not.toContain('hub_session');

      await page.click('[data-testid=queue] button >> nth=0');
      await page.click('[data-testid=ticket] button:has-text("Take")');
      const joined = await nextReply('the agent-joined notice');
      expect(joined.content?.text).toMatch(/agent Mia Chen has joined/);

      // A body that names someone else changes nothing: the session is the identity.
      const forged = await page.evaluate(async () => {
        const me = (await (await fetch('/admin/me')).json()) as { csrfToken: string };
        const { tickets } = (await (await fetch('/admin/tickets')).json()) as {
          tickets: Array<{ id: string }>;
        };
        const response = await fetch(`/admin/tickets/${tickets[0]?.id}/assign`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
          body: JSON.stringify({ agent: 'Somebody Else' }),
        });
        const body = (await response.json()) as { ticket?: { assignee?: string } };
        return { status: response.status, assignee: body.ticket?.assignee };
      });
      expect(forged).toEqual({ status: 200, assignee: 'Mia Chen' });

      await page.fill('#ws-reply-text', 'Hi, Mia here. Your refund was sent this morning.');
      await page.click('button:has-text("Send reply")');
      const delivered = await nextReply("the agent's reply");
      expect(delivered.content?.text).toBe('Hi, Mia here. Your refund was sent this morning.');
      expect(delivered.source).toBe('agent');
      expect(delivered.author).toEqual({ kind: 'agent', name: 'Mia Chen' });

      // The workspace shows the ticket as Mia's, with her take and her reply.
      await expect
        .poll(() => page.textContent('[data-testid=ticket] .ws-case-meta'), { timeout: 10_000 })
        .toContain('Mia Chen');
      await expect
        .poll(() => page.textContent('[data-testid=thread]'), { timeout: 10_000 })
        .toContain('Mia Chen took the ticket.');
      await expect
        .poll(() => page.textContent('[data-testid=thread]'), { timeout: 10_000 })
        .toContain('Hi, Mia here. Your refund was sent this morning.');
      expect(await page.textContent('[data-testid=thread]')).not.toContain('Somebody Else');

      // Signing out ends the session: the console goes back to the sign-in page.
      await page.click('header button:has-text("Log out")');
      await page.waitForURL(/\/login\?next=/);
      const after = await page.evaluate(async () => (await fetch('/admin/tickets')).status);
      expect(after).toBe(401);
    });
  },
);
