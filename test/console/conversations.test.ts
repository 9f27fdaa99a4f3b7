import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
 * The Conversations page in a browser: scripted conversations played through the REST channel (one
 * with an e-mail and a phone number), searched, opened, a turn's trace expanded; an analyst sees
 * the personal data masked, a supervisor in clear. Prints how long the page and a transcript take.
 */

const EMAIL = 'alice.smith@example.com';
const PHONE = '+49 151 23456789';

let hub: ConsoleHub;
let browser: Browser;

async function say(sender: string, message: string): Promise<void> {
  const response = await fetch(`${hub.url}/webhooks/rest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

beforeAll(async () => {
  [hub, browser] = await Promise.all([
    startConsoleHub({
      channels: [
        { id: 'rest', type: 'rest', auth: 'none' },
        { id: 'webchat', type: 'webchat' },
      ],
      analytics: { csat: { enabled: true, scale: '1-5' } },
    }),
    openBrowser(),
  ]);
  await say('alice', 'can I get an invoice?');
  await say('alice', 'yes');
  await say('alice', '5');
  await say('alice', `Please send it to ${EMAIL} or call me on ${PHONE}`);
  await say('bob', 'How long does shipping take?');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

/** Searches for `customer` (and more filters) and waits until the table lists `count` conversations. */
async function searchFor(page: Page, customer: string, count: number): Promise<void> {
  await page.fill('input[name=customer]', customer);
  await page.click('form.conv-search button[type=submit]');
  await page.waitForURL((url) => url.searchParams.get('customer') === customer);
  // Polled from here: the page's CSP refuses the eval a string predicate of waitForFunction needs.
  await expect
    .poll(() => page.locator('[data-testid=open-conversation]').count(), { timeout: 60_000 })
    .toBe(count);
}

/** Milliseconds from starting `action` until `selector` shows. */
async function timed(page: Page, selector: string, action: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await action();
  await page.waitForSelector(selector);
  return Date.now() - started;
}

describeBrowser('the Conversations page', { timeout: 240_000 }, () => {
  it('searches, opens a transcript and its trace; an analyst sees personal data masked', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await login(page, hub.url, hub.operators.analyst, '/console/conversations');

    // A cold load of the page: the shell, the page's module and the first search.
    const loadMs = await timed(page, '[data-testid=open-conversation]', () =>
      page.goto(`${hub.url}/console/conversations`),
    );
    expect(await page.locator('[data-testid=open-conversation]').count()).toBe(2);
    // Warm loads (the bundle cached): the median of three.
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) {
      warm.push(await timed(page, '[data-testid=open-conversation]', () => page.reload()));
    }
    warm.sort((a, b) => a - b);
    await shot(page, 'conversations-list');
    expect(await a11y(page)).toEqual([]);

    await page.selectOption('select[name=rating]', '5');
    await searchFor(page, 'rest:alice', 1);
    expect(new URL(page.url()).searchParams.get('rating')).toBe('5');
    expect(new URL(page.url()).searchParams.get('customer')).toBe('rest:alice');
    const row = await page.textContent('table tbody tr');
    expect(row).toContain('faq');
    expect(row).toContain('Open');

    const transcriptMs = await timed(page, '[data-testid=transcript] [data-testid=line]', () =>
      page.click('[data-testid=open-conversation]'),
    );
    const lineCount = await page.locator('[data-testid=line]').count();
    expect(lineCount).toBeGreaterThanOrEqual(8);
    const customerTexts = await page.locator('[data-who=customer] [data-testid=line-text]').allTextContents();
    expect(customerTexts[0]).toBe('can I get an invoice?');
    const withPii = customerTexts[3] ?? '';
    expect(withPii).toContain('<EMAIL …@example.com>');
    expect(withPii).not.toContain(EMAIL);
    expect(withPii).not.toContain('151 23456789');
    expect(await page.textContent('main')).not.toContain(EMAIL);

    // The first turn's trace, expanded.
    const trace = page.locator('[data-who=customer] [data-testid=trace]').first();
    await trace.locator('summary').click();
    expect(await trace.getAttribute('open')).not.toBeNull();
    expect(await trace.locator('[data-testid=trace-intent]').textContent()).toBe('faq');
    expect(
      Number((await trace.locator('[data-testid=trace-confidence]').textContent())?.split(' ')[0]),
    ).toBeGreaterThan(0);
    expect(await trace.locator('[data-testid=trace-latency]').textContent()).toMatch(/\d+ ms/);
    const passages = trace.locator('[data-testid=passage]');
    expect(await passages.count()).toBeGreaterThan(0);
    expect(
      Number(await passages.first().locator('[data-testid=passage-score]').textContent()),
    ).toBeGreaterThan(0);
    expect(await passages.first().textContent()).toContain('invoice');
    await shot(page, 'conversations-transcript');
    expect(await a11y(page)).toEqual([]);

    expect(await fitsWidth(page, 390)).toBe(true);
    await shot(page, 'conversations-transcript-390');
    await page.click('text=← Back to the results');
    await page.waitForSelector('[data-testid=open-conversation]');
    expect(await fitsWidth(page, 390)).toBe(true);
    await shot(page, 'conversations-list-390');
    expect(errors).toEqual([]);
    console.info(
      `Conversations page (analyst, 2 conversations): first results ${loadMs} ms after navigation (reloads: median ${warm[1]} ms); transcript (${lineCount} lines) ${transcriptMs} ms after the click`,
    );
    await context.close();
  });

  it('shows a supervisor the personal data as the customer wrote it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, hub.url, hub.operators.supervisor, '/console/conversations');
    await page.waitForSelector('[data-testid=open-conversation]');
    await searchFor(page, 'alice', 1);
    await page.click('[data-testid=open-conversation]');
    await page.waitForSelector('[data-testid=transcript]');
    const customerTexts = await page.locator('[data-who=customer] [data-testid=line-text]').allTextContents();
    expect(customerTexts[3]).toBe(`Please send it to ${EMAIL} or call me on ${PHONE}`);
    // Reload keeps the open conversation: it lives in the address.
    await page.reload();
    await page.waitForSelector('[data-testid=transcript]');
    expect(await page.textContent('main')).toContain(EMAIL);
    await context.close();
  });

  it('is not offered to an agent', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, hub.url, hub.operators.agent);
    expect(await page.locator('nav#nav a[href="/console/conversations"]').count()).toBe(0);
    await page.goto(`${hub.url}/console/conversations`);
    await page.waitForSelector('main [role=alert]');
    expect(await page.textContent('main [role=alert]')).toContain('may not open');
    await context.close();
  });
});
