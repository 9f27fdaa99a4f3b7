import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { webchatCustomer } from '../support/webchat-customer';
import {
  a11y,
  type ConsoleHub,
  describeBrowser,
  fitsWidth,
  login,
  openBrowser,
  SCREENSHOTS,
  shot,
  startConsoleHub,
} from './harness';

/**
 * The agent workspace end to end in Chromium: a web chat customer asks for a person, the ticket
 * appears in the signed-in agent's queue without a reload (the live stream), the agent takes it,
 * reads the bot's case summary, inserts a suggested reply and sends it — the customer gets it with
 * the agent's name — writes an internal note the customer never gets, solves, and the bot answers
 * the customer's next message. A supervisor assigns a second ticket to the agent.
 */

let hub: ConsoleHub;
let browser: Browser;
const timings: Record<string, number> = {};

/** A web chat customer at this test's hub. */
const customer = () => webchatCustomer(hub.url);

/** The workspace open and listening: the queue rendered and the live stream connected. */
async function openWorkspace(page: Page): Promise<number> {
  const started = Date.now();
  await page.goto(`${hub.url}/console/workspace`);
  await page.waitForSelector('.ws-queue[data-state=loaded]');
  await page.waitForSelector('.ws-live-live');
  return Date.now() - started;
}

const queueItem = (page: Page, text: string) => page.locator('[data-testid=queue] button', { hasText: text });

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), openBrowser()]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  if (Object.keys(timings).length) {
    await mkdir(SCREENSHOTS, { recursive: true });
    await writeFile(join(SCREENSHOTS, 'workspace-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    console.info('workspace timings (ms):', timings);
  }
});

describeBrowser('the agent workspace', { timeout: 240_000 }, () => {
  it('works a handoff end to end: live queue, summary, suggestion, reply, note, solve, back to the bot', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await login(page, hub.url, hub.operators.agent);
    timings.pageLoadMs = await openWorkspace(page);
    const navigation = (await page.evaluate(
      `JSON.stringify(performance.getEntriesByType('navigation')[0])`,
    )) as string;
    const entry = JSON.parse(navigation) as { domContentLoadedEventEnd: number; loadEventEnd: number };
    timings.domContentLoadedMs = Math.round(entry.domContentLoadedEventEnd);
    timings.loadEventMs = Math.round(entry.loadEventEnd);
    // A mark on this document: were the page reloaded, it would be gone.
    await page.evaluate('window.__sameDocument = true');
    await shot(page, 'workspace-empty');

    const alex = await customer();
    alex.say('How long does standard shipping take?');
    expect((await alex.nextReply('the bot answering')).content?.text).toMatch(/day/i);
    const askedAt = Date.now();
    alex.say('I want to talk to a human');
    const confirmation = await alex.nextReply('the handoff confirmation');
    const reference = /HUB-[0-9A-Z]{8}/.exec(confirmation.content?.text ?? '')?.[0] as string;
    expect(reference, confirmation.content?.text).toBeDefined();

    // The ticket appears in the queue by itself, as waiting.
    const item = queueItem(page, 'waiting');
    await item.first().waitFor({ timeout: 60_000 });
    timings.ticketInQueueAfterAskingMs = Date.now() - askedAt;
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await shot(page, 'workspace-queue');

    await item.first().click();
    const ticket = page.locator('[data-testid=ticket]');
    await ticket.waitFor();
    expect(await ticket.locator('.ws-case-meta').textContent()).toContain(reference);
    // The case summary on top: the bot's summary and what it understood, as the ticket stores them.
    const stored = (await page.evaluate(`fetch('/admin/tickets').then((r) => r.json())`)) as {
      tickets: Array<{ reference: string; summary: string; intent?: string }>;
    };
    const opened = stored.tickets.find((t) => t.reference === reference);
    expect(opened).toBeDefined();
    const summary = page.locator('[data-testid=case-summary]');
    expect(await summary.textContent()).toContain(opened?.summary);
    expect(await summary.textContent()).toContain(opened?.intent ?? 'not recognised');
    expect(await page.locator('[data-testid=thread]').textContent()).toContain(
      'How long does standard shipping take?',
    );

    await page.click('button:text-is("Take")');
    expect((await alex.nextReply('the agent-joined notice')).content?.text).toMatch(/Amy Agent has joined/);

    // Suggestions for the customer's question (not for "I want to talk to a human"); one click inserts it.
    const suggestion = page.locator('[data-testid=suggestions] button').first();
    await suggestion.waitFor({ timeout: 30_000 });
    const suggested = (await suggestion.locator('.ws-suggestion-title').textContent()) ?? '';
    expect(suggested.length).toBeGreaterThan(0);
    await suggestion.click();
    const inserted = await page.inputValue('#ws-reply-text');
    expect(inserted.length).toBeGreaterThan(20);
    await page.fill('#ws-reply-text', `Hi, Amy here. ${inserted}`);
    await shot(page, 'workspace-ticket');
    expect(await a11y(page)).toEqual([]);
    await page.click('button:text-is("Send reply")');
    const reply = await alex.nextReply("the agent's reply");
    expect(reply.source).toBe('agent');
    expect(reply.author).toEqual({ kind: 'agent', name: 'Amy Agent' });
    expect(reply.content?.text).toBe(`Hi, Amy here. ${inserted}`);

    // An internal note stays on the ticket.
    const note = 'VIP customer, second parcel this month';
    await page.fill('#ws-note-text', note);
    await page.click('button:text-is("Add note")');
    await page.locator('[data-testid=thread] [data-kind=note]', { hasText: note }).waitFor();

    // The customer writes while Amy owns the conversation: it shows in the thread live.
    alex.say('Thanks! Is the parcel insured too?');
    await page
      .locator('[data-testid=thread] [data-kind=customer]', { hasText: 'Is the parcel insured too?' })
      .waitFor({ timeout: 60_000 });

    await page.click('button:text-is("Solve and return to the bot")');
    const back = await alex.nextReply('the back-to-the-bot notice');
    expect(back.content?.text).toMatch(/finished with this conversation/);
    // Nothing the customer received carried the note.
    expect(JSON.stringify(alex.all)).not.toContain(note);

    alex.say('How long does standard shipping take?');
    const again = await alex.nextReply('the bot answering again');
    expect(again.source).not.toBe('agent');
    expect(again.content?.text).toMatch(/day/i);
    alex.close();

    expect(await fitsWidth(page, 390)).toBe(true);
    await shot(page, 'workspace-390');
    expect(await a11y(page)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets a supervisor assign a waiting ticket to an agent, whom the web chat widget names', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, hub.url, hub.operators.supervisor);
    await openWorkspace(page);

    // This customer uses the web chat widget itself, in a browser of their own.
    const customerContext = await browser.newContext();
    const chat = await customerContext.newPage();
    await chat.goto(`${hub.url}/chat`);
    await chat.waitForSelector('#status[data-state=online]');
    const botRows = chat.locator('#messages .row.bot');
    let seen = 0;
    const say = async (text: string) => {
      await chat.fill('#input', text);
      await chat.click('#send');
    };
    const nextRow = async () => {
      await expect.poll(() => botRows.count(), { timeout: 60_000 }).toBeGreaterThan(seen);
      return botRows.nth(seen++);
    };
    await say('My parcel XX12345678 arrived broken, I want a refund');
    await nextRow();
    await say('I want to talk to a human');
    expect(await (await nextRow()).textContent()).toMatch(/HUB-[0-9A-Z]{8}/);

    const item = queueItem(page, 'waiting');
    await item.first().waitFor({ timeout: 60_000 });
    await item.first().click();
    const summary = page.locator('[data-testid=case-summary]');
    await summary.waitFor();
    expect(await summary.textContent()).toContain('XX12345678');
    await page.locator('#ws-assignee option', { hasText: 'Amy Agent' }).waitFor({ state: 'attached' });
    await page.selectOption('#ws-assignee', { label: 'Amy Agent (agent)' });
    await page.click('.ws-assign button[type=submit]');
    await page
      .locator('[data-testid=thread] [data-kind=assign]', {
        hasText: 'Sam Supervisor assigned the ticket to Amy Agent.',
      })
      .waitFor();
    await shot(page, 'workspace-assigned');
    expect(await a11y(page)).toEqual([]);

    // The customer's widget: the join notice (the bot's), then the supervisor's reply under their name.
    const joined = await nextRow();
    expect(await joined.textContent()).toMatch(/Amy Agent has joined/);
    await page.fill('#ws-reply-text', 'Sam here: Amy will call you about the refund today.');
    await page.click('button:text-is("Send reply")');
    const replied = await nextRow();
    expect(await replied.locator('.bubble').textContent()).toBe(
      'Sam here: Amy will call you about the refund today.',
    );
    expect(await replied.getAttribute('class')).toContain('agent');
    expect(await replied.locator('.author').textContent()).toBe('Sam Supervisor');
    await shot(chat, 'workspace-customer-widget');
    await customerContext.close();
    await context.close();
  });
});
