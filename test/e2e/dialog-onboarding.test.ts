import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * What a new user does to teach the bot something: one intent in the dialog file (keywords and a
 * few examples) and one flow file, no code. The hub reads them at start, the classifier trains on
 * the examples, and the web chat runs the flow.
 */
let hub: HubProcess | undefined;
let socket: WebSocket | undefined;
const replies: string[] = [];

const GIFT_WRAP_FLOW = `
name: gift_wrap
title: { zh: 礼品包装, en: gift wrapping }
trigger:
  intents: [gift_wrap]
slots:
  - name: order_id
    entity: order_id
    prompt:
      zh: 请问要为哪个订单加礼品包装？请提供订单号。
      en: Which order should be gift wrapped? Please give me the order number.
  - name: paper
    choices:
      - { value: red, words: { zh: [红], en: [red] } }
      - { value: gold, words: { zh: [金], en: [gold] } }
    prompt:
      zh: 包装纸要红色还是金色？
      en: Red or gold wrapping paper?
steps:
  - id: ask
    type: ask
    slots: [order_id, paper]
  - id: done
    type: end
    message:
      zh: 好的，订单 {order_id} 将使用{paper}包装纸。
      en: Done, order {order_id} will be wrapped in {paper} paper.
`;

async function reply(timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!replies.length) {
    if (Date.now() > deadline) throw new Error(`no reply\n${hub?.output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return replies.shift() as string;
}

let sent = 0;
const say = (text: string) =>
  socket?.send(JSON.stringify({ type: 'message', id: `m-${++sent}`, text, locale: 'en' }));

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-dialog-'));
  const flows = join(dir, 'flows');
  mkdirSync(flows);
  for (const file of readdirSync('config/flows')) copyFileSync(join('config/flows', file), join(flows, file));
  writeFileSync(join(flows, 'gift-wrap.yaml'), GIFT_WRAP_FLOW);
  const dialog = parseYaml(readFileSync('config/dialog.yaml', 'utf8')) as {
    flowsDir: string;
    intents: { intents: unknown[] };
  };
  dialog.flowsDir = flows;
  dialog.intents.intents.push({
    name: 'gift_wrap',
    description: 'gift wrapping for an order',
    keywords: { zh: ['礼品包装', '包装成礼物'], en: ['gift wrap', 'gift-wrap', 'wrap it as a gift'] },
    examples: [
      'can you gift wrap my order',
      'I need this wrapped as a present',
      '可以帮我礼品包装吗',
      '我想要礼品包装',
    ],
  });
  const dialogFile = join(dir, 'dialog.yaml');
  writeFileSync(dialogFile, toYaml(dialog));
  hub = await startHubProcess(
    writeConfig({
      database: { dataDir: 'memory://' },
      dialog: { file: dialogFile },
      channels: [{ id: 'webchat', type: 'webchat' }],
    }),
  );
  socket = new WebSocket(`${hub.url.replace('http', 'ws')}/webchat/webchat/ws`);
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; message?: { content?: { text?: string } } };
    if (frame.type === 'reply') replies.push(frame.message?.content?.text ?? '');
  });
  await new Promise((resolve, reject) => {
    socket?.once('open', resolve);
    socket?.once('error', reject);
  });
}, 180_000);

afterAll(async () => {
  socket?.close();
  await hub?.stop('SIGTERM');
});

describe('an intent and a flow added in YAML only', () => {
  it('runs the new flow in the web chat: asks for each slot, then confirms', async () => {
    say('Could you gift wrap my order please?');
    expect(await reply()).toMatch(/Which order should be gift wrapped/);
    say('AB12345678');
    expect(await reply()).toMatch(/Red or gold/);
    say('gold please');
    expect(await reply()).toBe('Done, order AB12345678 will be wrapped in gold paper.');
  });

  it('keeps the shipped intents and flows working beside it', async () => {
    say('where is my order?');
    expect(await reply()).toMatch(/order number/);
  });
});
