import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium';
import { freePort } from '../support/oidc-provider';

/**
 * The handoff as the customer sees it, in the web chat widget in Debian's Chromium: the bot's
 * typing dots before its answers, none while the customer waits for a person, the agent's reply
 * under the agent's name in the agent's colour, and a link followed by full-width punctuation
 * (`）`, `。`) that stops where the URL does. Screenshots go to test-results/.
 */
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`webchat handoff browser e2e skipped: ${CHROMIUM} is absent (apt-get install chromium)`);
}

const RESULTS = join(process.cwd(), 'test-results');

interface DeskTicket {
  id: string;
  reference: string;
}

let hub: RunningHub | undefined;
let browser: BrowserContext | undefined;
let profileDir = '';
let savedToken: string | undefined;

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 45_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function adminPost(path: string, body: unknown): Promise<number> {
  const response = await fetch(`${hub?.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

/** Type and send as a customer would; wait until the hub acknowledged it (the row leaves "sending"). */
async function send(page: Page, text: string): Promise<void> {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  // Code run in the page is a string: this project compiles without the DOM's types.
  await page.waitForFunction(
    `[...document.querySelectorAll('.row.user:not(.pending) .bubble')].some((b) => b.textContent === ${JSON.stringify(text)})`,
  );
}

const botRows = (page: Page) => page.locator('.row.bot').count();

describe.skipIf(!hasChromium)('the web chat widget through a handoff', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    savedToken = process.env.HUB_ADMIN_TOKEN;
    // No admin token: the demo helpdesk's agent routes answer loopback clients, which this test is.
    process.env.HUB_ADMIN_TOKEN = '';
    await mkdir(RESULTS, { recursive: true });
    hub = await startHub(
      hubConfigSchema.parse({
        server: { port: await freePort() },
        database: { driver: 'pglite', dataDir: 'memory://' },
        ticketing: { driver: 'demo', outbox: { pollMs: 100 } },
        channels: [{ id: 'webchat', type: 'webchat' }],
      }),
    );
    profileDir = await mkdtemp(join(tmpdir(), 'hub-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      locale: 'en-US',
      viewport: { width: 420, height: 760 },
      args: CHROMIUM_ARGS,
    });
    await browser.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    if (savedToken === undefined) delete process.env.HUB_ADMIN_TOKEN;
    else process.env.HUB_ADMIN_TOKEN = savedToken;
  });

  it('shows the agent as the agent, no typing while waiting, and links that stop at 。 and ）', async () => {
    const page = await (browser as BrowserContext).newPage();
    // Every "typing on" the server sends, and every time the dots are shown, counted from here.
    const typingFrames: number[] = [];
    page.on('websocket', (socket) =>
      socket.on('framereceived', ({ payload }) => {
        const frame = JSON.parse(String(payload)) as { type: string; on?: boolean };
        if (frame.type === 'typing' && frame.on) typingFrames.push(Date.now());
      }),
    );
    await page.goto(`${hub?.url}/chat`);
    await page.waitForSelector('#status[data-state="online"]');
    await page.evaluate(`(() => {
      const typing = document.getElementById('typing');
      window.typingShown = 0;
      new MutationObserver(() => {
        if (!typing.hidden) window.typingShown += 1;
      }).observe(typing, { attributes: true, attributeFilter: ['hidden'] });
    })()`);
    const shownCount = () => page.evaluate('window.typingShown') as Promise<number>;

    // With the bot: the dots come on while it works on the answer (the control for what follows).
    await send(page, 'How long does standard shipping take?');
    await until('the bot answer', async () => ((await botRows(page)) >= 1 ? true : undefined));
    expect(typingFrames.length).toBeGreaterThanOrEqual(1);
    expect(await shownCount()).toBeGreaterThanOrEqual(1);

    await send(page, 'I want to talk to a human');
    await until('the handoff confirmation', async () => ((await botRows(page)) >= 2 ? true : undefined));
    const confirmation = (await page.locator('.row.bot .bubble').nth(1).textContent()) ?? '';
    const reference = /HUB-[0-9A-Z]{8}/.exec(confirmation)?.[0] as string;
    expect(reference, confirmation).toBeDefined();

    // Waiting for a person: the customer writes again; the hub tells them to wait, and no dots run.
    const framesBefore = typingFrames.length;
    const shownBefore = await shownCount();
    await send(page, 'Are you still there?');
    await until('the waiting notice', async () => ((await botRows(page)) >= 3 ? true : undefined));
    expect(await page.locator('.row.bot .bubble').nth(2).textContent()).toContain(reference);
    expect(typingFrames.length).toBe(framesBefore);
    expect(await shownCount()).toBe(shownBefore);
    expect(await page.isHidden('#typing')).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'webchat-waiting-for-agent.png') });

    // An agent takes the ticket in the demo helpdesk and replies with a link inside Chinese punctuation.
    const ticket = await until('the ticket in the demo helpdesk', async () => {
      const { tickets } = (await (await fetch(`${hub?.url}/admin/tickets`)).json()) as {
        tickets: DeskTicket[];
      };
      return tickets.find((t) => t.reference === reference);
    });
    expect(await adminPost(`/admin/tickets/${ticket.id}/assign`, { agent: 'Bo Li' })).toBe(200);
    expect(
      await adminPost(`/admin/tickets/${ticket.id}/reply`, {
        agent: 'Bo Li',
        text: '退货说明见（https://shop.example.com/returns?lang=zh）。也可以看 https://shop.example.com/faq。谢谢',
      }),
    ).toBe(200);
    const agentRow = page.locator('.row.agent').last();
    await agentRow.locator('a').first().waitFor();

    // The reply is the agent's: their name above it, and a style the bot's replies do not have.
    expect(await agentRow.locator('.author').textContent()).toBe('Bo Li');
    // Their joining is the bot's notice, in the bot's look.
    expect(await page.locator('.row.agent').count()).toBe(1);
    expect(await page.locator('.row.bot:not(.agent) .bubble').last().textContent()).toMatch(
      /Bo Li has joined/,
    );
    type Styles = { getComputedStyle(node: unknown): { backgroundColor: string; borderLeftWidth: string } };
    const look = (selector: string) =>
      page.locator(selector).evaluate((bubble) => {
        const style = (globalThis as unknown as Styles).getComputedStyle(bubble);
        return { background: style.backgroundColor, edge: style.borderLeftWidth };
      });
    const agentLook = await look('.row.agent .bubble');
    const botLook = await look('.row.bot:not(.agent) .bubble >> nth=0');
    expect(agentLook.background).not.toBe(botLook.background);
    expect(agentLook.edge).toBe('3px');
    expect(await page.locator('.row.bot:not(.agent) .author').count()).toBe(0);

    // The links stop before the full-width punctuation; the sentence's text stays whole.
    const links = await agentRow
      .locator('a')
      .evaluateAll((anchors) => anchors.map((a) => ({ href: a.getAttribute('href'), text: a.textContent })));
    expect(links).toEqual([
      { href: 'https://shop.example.com/returns?lang=zh', text: 'https://shop.example.com/returns?lang=zh' },
      { href: 'https://shop.example.com/faq', text: 'https://shop.example.com/faq' },
    ]);
    expect(await agentRow.locator('.bubble').textContent()).toBe(
      '退货说明见（https://shop.example.com/returns?lang=zh）。也可以看 https://shop.example.com/faq。谢谢',
    );

    // A person owns the conversation: what the customer writes goes to the ticket; no dots, no bot answer.
    const rowsBefore = await botRows(page);
    const framesWithAgent = typingFrames.length;
    await send(page, 'Thanks, one more question about the refund');
    // The turn ran once the message is on the ticket; any typing frame of its own would have come first.
    await until('the message on the ticket', async () => {
      const { tickets } = (await (await fetch(`${hub?.url}/admin/tickets`)).json()) as {
        tickets: Array<DeskTicket & { comments: Array<{ text: string }> }>;
      };
      const comments = tickets.find((t) => t.id === ticket.id)?.comments ?? [];
      return comments.some((c) => c.text === 'Thanks, one more question about the refund') ? true : undefined;
    });
    expect(typingFrames.length).toBe(framesWithAgent);
    expect(await page.isHidden('#typing')).toBe(true);
    expect(await botRows(page)).toBe(rowsBefore);
    await page.screenshot({ path: join(RESULTS, 'webchat-agent-reply.png') });
  });
});
