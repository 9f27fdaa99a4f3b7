import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { OperatorStore } from '../../core/security/operator-store';
import type { Role } from '../../core/security/permissions';
import type { KyselyStore } from '../../core/store';
import { CHROMIUM } from '../support/chromium';
import { freePort } from '../support/oidc-provider';

/**
 * The operator console in a real browser: an in-process hub (PGlite in memory, the in-memory bus,
 * a REST and a web chat channel, the demo helpdesk), one operator per role, Debian's Chromium driven
 * by playwright-core, screenshots under test-results/console/, axe-core for accessibility.
 */

export { CHROMIUM };
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`console browser tests skipped: ${CHROMIUM} is absent (apt-get install chromium)`);

/** describe() that skips, saying why, on a machine without Chromium. */
export const describeBrowser = describe.skipIf(!hasChromium);

export const SCREENSHOTS = join(process.cwd(), 'test-results', 'console');

export interface Login {
  email: string;
  password: string;
  displayName: string;
}

export interface ConsoleHub {
  hub: RunningHub;
  url: string;
  operators: Record<Role, Login>;
  stop(): Promise<void>;
}

const LOGINS: Record<Role, Login> = {
  admin: { email: 'ada@example.com', password: 'console-admin-pass-01', displayName: 'Ada Admin' },
  supervisor: { email: 'sam@example.com', password: 'console-super-pass-01', displayName: 'Sam Supervisor' },
  agent: { email: 'amy@example.com', password: 'console-agent-pass-01', displayName: 'Amy Agent' },
  analyst: { email: 'ann@example.com', password: 'console-analyst-pass-01', displayName: 'Ann Analyst' },
};

/** A hub for the console tests; `config` is merged over the harness's (shallow, per top-level key). */
export async function startConsoleHub(config: Record<string, unknown> = {}): Promise<ConsoleHub> {
  const port = await freePort();
  const hub = await startHub(
    hubConfigSchema.parse({
      server: { port },
      database: { driver: 'pglite', dataDir: 'memory://' },
      ticketing: { driver: 'demo', outbox: { pollMs: 100 } },
      channels: [
        { id: 'rest', type: 'rest' },
        { id: 'webchat', type: 'webchat' },
      ],
      ...config,
    }),
  );
  const operators = new OperatorStore((hub.store as KyselyStore).db);
  for (const [role, login] of Object.entries(LOGINS) as Array<[Role, Login]>) {
    await operators.create({ ...login, role, tenants: ['*'] });
  }
  const url = hub.url ?? `http://127.0.0.1:${port}`;
  return { hub, url, operators: LOGINS, stop: () => hub.stop() };
}

export function openBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Signs in on the hub's sign-in page as `role` and lands on `next` (default: the console). */
export async function login(page: Page, hubUrl: string, login: Login, next = '/console/'): Promise<void> {
  await page.goto(`${hubUrl}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#email', login.email);
  await page.fill('#password', login.password);
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith(next)),
    page.click('button[type=submit]'),
  ]);
  await page.waitForSelector('[data-testid=operator]');
}

/** A full-page screenshot at test-results/console/<name>.png (not committed: for a reader to look at). */
export async function shot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface A11yViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

let axeSource: string | undefined;

/** axe-core on the page as it is now: the serious and critical violations (assert none). */
export async function a11y(page: Page): Promise<A11yViolation[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (scripts from this origin only) holds.
  axeSource ??= await readFile(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  // The page's own globals (axe, document) exist only in the browser: the check is sent as a script.
  const violations = (await page.evaluate(`axe.run(document).then((results) => results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`)) as A11yViolation[];
  return violations;
}

/** Resizes to `width` px and says whether the page fits without scrolling sideways. */
export async function fitsWidth(page: Page, width = 390): Promise<boolean> {
  await page.setViewportSize({ width, height: 844 });
  await page.waitForTimeout(100);
  return (await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')) as boolean;
}
