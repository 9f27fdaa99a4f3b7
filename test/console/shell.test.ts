import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PERMISSIONS, ROLES, type Role, roleAllows } from '../../core/security/permissions';
import {
  a11y,
  type ConsoleHub,
  describeBrowser,
  fitsWidth,
  login,
  openBrowser,
  shot,
  startConsoleHub,
} from './harness';

/**
 * The console's shell for every role: sign-in, the menu of the pages the role's permissions allow
 * (and no other), every offered page opening, a refused page saying so, accessibility, 390 px.
 */

let hub: ConsoleHub;
let browser: Browser;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), openBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

interface Link {
  path: string;
  permission: string;
  title: string;
}

async function menu(page: Page): Promise<Link[]> {
  return page.$$eval('nav#nav a', (anchors) =>
    anchors.map((a) => ({
      path: a.getAttribute('href') ?? '',
      permission: a.getAttribute('data-permission') ?? '',
      title: a.textContent ?? '',
    })),
  );
}

describeBrowser('the operator console shell', { timeout: 180_000 }, () => {
  it('serves the bundle with a strict CSP, and sends a visitor without a session to sign in', async () => {
    const root = await fetch(`${hub.url}/console`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const page = await fetch(`${hub.url}/console/overview`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${hub.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${hub.url}/console/assets/nothing-here.js`)).status).toBe(404);
    expect((await fetch(`${hub.url}/console/assets/..%2f..%2fpackage.json`)).status).toBe(404);

    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`${hub.url}/console/overview`);
    await tab.waitForURL((url) => url.pathname === '/login');
    expect(new URL(tab.url()).searchParams.get('next')).toBe('/console/overview');
    await context.close();
  });

  it.each(ROLES)('offers the %s exactly the pages its permissions allow', async (role: Role) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await login(page, hub.url, hub.operators[role]);
    expect(await page.textContent('[data-testid=operator]')).toContain(`(${role})`);
    const links = await menu(page);
    for (const link of links) {
      expect(Object.hasOwn(PERMISSIONS, link.permission), link.permission).toBe(true);
      expect(roleAllows(role, link.permission as keyof typeof PERMISSIONS), `${role} → ${link.path}`).toBe(
        true,
      );
    }
    for (const link of links) {
      await page.click(`nav#nav a[href="${link.path}"]`);
      await page.waitForSelector('main h1');
      expect(await page.getAttribute(`nav#nav a[href="${link.path}"]`, 'aria-current')).toBe('page');
    }
    await shot(page, `shell-${role}`);
    expect(await a11y(page)).toEqual([]);
    expect(await fitsWidth(page, 390)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says so when a role opens a page it may not see, and logs out', async () => {
    const context = await browser.newContext();
    const admin = await context.newPage();
    await login(admin, hub.url, hub.operators.admin);
    const all = await menu(admin);
    await context.close();
    for (const role of ROLES) {
      const refused = all.filter((link) => !roleAllows(role, link.permission as keyof typeof PERMISSIONS));
      if (refused.length === 0) continue;
      const own = await browser.newContext();
      const page = await own.newPage();
      await login(page, hub.url, hub.operators[role]);
      for (const link of refused) {
        await page.goto(`${hub.url}${link.path}`);
        await page.waitForSelector('main [role=alert]');
        expect(await page.textContent('main [role=alert]')).toContain('may not open');
      }
      await own.close();
    }
    const own = await browser.newContext();
    const page = await own.newPage();
    await login(page, hub.url, hub.operators.analyst);
    await page.click('header button:has-text("Log out")');
    await page.waitForURL((url) => url.pathname === '/login');
    const me = await page.evaluate(async () => (await fetch('/admin/me')).status);
    expect(me).toBe(401);
    await own.close();
  });
});
