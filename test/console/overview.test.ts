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
 * The Overview page on conversations played through the hub's REST channel: the figures the page
 * shows must be those this test counts itself from the replies it got (containment, CSAT,
 * handoffs), once the conversations have ended (`abandonAfterMinutes: 0.3`, 18 s). A supervisor sees it; an
 * agent is neither offered it nor answered by its route.
 */

let hub: ConsoleHub;
let browser: Browser;

beforeAll(async () => {
  [hub, browser] = await Promise.all([
    startConsoleHub({
      analytics: { abandonAfterMinutes: 0.3, csat: { enabled: true, ask: 'after_resolution', scale: '1-5' } },
      channels: [
        { id: 'rest', type: 'rest', auth: 'none' },
        { id: 'webchat', type: 'webchat' },
      ],
    }),
    openBrowser(),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

interface Said {
  conversation: string;
  replies: string[];
  rating?: number;
}

async function say(conversation: string, message: string): Promise<string[]> {
  const response = await fetch(`${hub.url}/webhooks/rest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender: conversation, message }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as Array<{ text: string }>).map((reply) => reply.text);
}

const asksSurvey = (replies: string[]) => replies.some((text) => /rate this conversation|from 1/i.test(text));
const handedOff = (replies: string[]) => replies.some((text) => /human agent/i.test(text));
const dontKnow = (replies: string[]) => replies.some((text) => /don't know|could not find/i.test(text));

/** An FAQ question, "yes" to "did that help?", then the rating when the survey comes. */
async function faq(conversation: string, question: string, rating: number): Promise<Said> {
  const replies = [...(await say(conversation, question))];
  expect(replies.join('\n')).toMatch(/Did that answer your question/i);
  const glad = await say(conversation, 'yes');
  replies.push(...glad);
  expect(asksSurvey(glad), glad.join('\n')).toBe(true);
  replies.push(...(await say(conversation, String(rating))));
  return { conversation, replies, rating };
}

async function openOverview(page: Page): Promise<number> {
  const started = Date.now();
  await page.goto(`${hub.url}/console/overview`);
  await page.waitForSelector('[data-testid=overview-figures] [data-stat="Bot-resolved"]');
  return Date.now() - started;
}

const stat = (page: Page, label: string) =>
  page.textContent(`[data-testid=overview-figures] [data-stat="${label}"]`).then((text) => text?.trim());

describeBrowser('the Overview page', { timeout: 300_000 }, () => {
  it('shows a supervisor the figures of the conversations played, counted here from their replies', async () => {
    const played: Said[] = [
      await faq('ov-anna', 'Can I get an invoice?', 4),
      await faq('ov-ben', 'How long does shipping take?', 5),
      await faq('ov-cleo', 'Which payment methods do you accept?', 2),
      { conversation: 'ov-dan', replies: await say('ov-dan', 'can I just talk to a real person') },
      { conversation: 'ov-eve', replies: await say('ov-eve', 'purple elephants dance quietly') },
    ];
    const lastMessageAt = Date.now();
    // What the test knows from the replies alone.
    const handoffs = played.filter((said) => handedOff(said.replies)).length;
    const abandoned = played.filter((said) => !handedOff(said.replies) && dontKnow(said.replies)).length;
    const contained = played.filter((said) => !handedOff(said.replies) && !dontKnow(said.replies)).length;
    const ratings = played.flatMap((said) => (said.rating === undefined ? [] : [said.rating]));
    expect({ handoffs, abandoned, contained, ratings: ratings.length }).toEqual({
      handoffs: 1,
      abandoned: 1,
      contained: 3,
      ratings: 3,
    });
    const containment = contained / (contained + handoffs + abandoned);
    const csat = ratings.reduce((sum, r) => sum + r, 0) / ratings.length;

    // The conversations end after 18 s without a customer message (abandonAfterMinutes: 0.3).
    const wait = lastMessageAt + 19_000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await login(page, hub.url, hub.operators.supervisor, '/console/overview');
    const loadMs = await openOverview(page);
    console.log(`overview: navigation → figures visible in ${loadMs} ms`);

    expect(await stat(page, 'Conversations')).toBe(String(played.length));
    expect(await stat(page, 'Bot-resolved')).toBe(`${(containment * 100).toFixed(1)} %`);
    expect(await stat(page, 'Handed off')).toBe(String(handoffs));
    expect(await stat(page, 'Abandoned')).toBe(String(abandoned));
    expect(await stat(page, 'CSAT')).toBe(csat.toFixed(2));
    // Every customer turn went through the workers: a latency, no failure.
    const turns = played.reduce((sum, said) => sum + (said.rating === undefined ? 1 : 3), 0);
    expect(await page.textContent('[data-testid=overview-figures]')).toContain(`${turns} turns`);
    expect(await stat(page, 'Latency p50')).toMatch(/^\d+ ms$|^\d+\.\d s$/);
    expect(await stat(page, 'Error rate')).toBe('0.0 %');
    expect(await page.$$eval('figure.chart canvas', (canvases) => canvases.length)).toBeGreaterThanOrEqual(6);

    // Filters: another channel has none of them; the day window has them all.
    await page.selectOption('select:near(:text("Channel"))', 'webchat');
    await expect.poll(() => stat(page, 'Conversations'), { timeout: 30_000 }).toBe('0');
    await page.selectOption('select:near(:text("Channel"))', '');
    await page.selectOption('.overview-window select', 'day');
    await page.waitForSelector('[data-testid=overview-figures][data-window=day]');
    expect(await stat(page, 'Conversations')).toBe(String(played.length));
    // What the page shows is in its address: a reload (or a shared link) shows the same.
    expect(new URL(page.url()).search).toBe('?window=day');
    await page.reload();
    await page.waitForSelector('[data-testid=overview-figures][data-window=day]');
    await page.selectOption('.overview-window select', 'hour');
    await page.waitForSelector('[data-testid=overview-figures][data-window=hour]');

    await shot(page, 'overview');
    expect(await a11y(page)).toEqual([]);
    expect(await fitsWidth(page, 390)).toBe(true);
    await shot(page, 'overview-390');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('is not offered to an agent, whose call to its route is refused', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, hub.url, hub.operators.agent);
    const links = await page.$$eval('nav#nav a', (anchors) => anchors.map((a) => a.getAttribute('href')));
    expect(links).not.toContain('/console/overview');
    const status = await page.evaluate(async () => (await fetch('/admin/console/overview')).status);
    expect(status).toBe(403);
    await context.close();
  });
});
