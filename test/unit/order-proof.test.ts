import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErp, erpConfigSchema } from '../../adapters/erp';
import { parseConfig } from '../../core/config/load';
import { hubConfigSchema } from '../../core/config/schema';
import { type CodeProof, type CommandReply, DialogCommands } from '../../core/dialog/commands';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { OrderAccess } from '../../core/orders/access';
import { type EmailCodeSender, emailCodeSender } from '../../core/orders/email-code-sender';
import { phonesMatch } from '../../core/orders/identity';
import { OneTimeCodes } from '../../core/orders/one-time-code';
import {
  MemoryVerificationLimiter,
  RedisVerificationLimiter,
  verificationLimitOptions,
} from '../../core/orders/verification-limit';
import { createKnowledge } from '../../core/rag';
import type { DialogState, InboundEvent } from '../../core/types';

/**
 * Ownership proof that holds: phones compared as E.164, one-time codes by e-mail through a real SMTP
 * server, and failed proofs counted per requester and per order so a stranger cannot lock the owner out.
 */
const ORDER = 'XX12345678';
const OWNER_EMAIL = 'alex@example.com';
const TRACKING = 'JD014600003828';

describe('phone numbers as E.164', () => {
  it('does not match numbers of other countries that share the last digits', () => {
    expect(phonesMatch('+65 1555 0100', '+1 555 0100')).toBe(false);
    expect(phonesMatch('+1 380 013 8000', '+86 138 0013 8000')).toBe(false);
    expect(phonesMatch('6515550100', '+1 555 0100')).toBe(false);
    expect(phonesMatch('555 0100', '+65 1555 0100')).toBe(false);
    expect(phonesMatch('not a number', '+1 555 0100')).toBe(false);
    // Two national numbers and no region to read them in: nothing to compare.
    expect(phonesMatch('138 0013 8000', '13800138000')).toBe(false);
  });

  it("matches the owner's own number however it is written", () => {
    for (const typed of [
      '+86 138 0013 8000',
      '+8613800138000',
      '008613800138000',
      '8613800138000',
      '138 0013 8000',
      '138-0013-8000',
    ]) {
      expect(phonesMatch(typed, '+86 138 0013 8000'), typed).toBe(true);
    }
    for (const typed of ['+1 555 0100', '+15550100', '555 0100', '15550100']) {
      expect(phonesMatch(typed, '+1 555 0100'), typed).toBe(true);
    }
    expect(phonesMatch('020 7946 0000', '+44 20 7946 0000')).toBe(true);
    // An ERP that stores national numbers: the tenant's region reads both.
    expect(phonesMatch('138 0013 8000', '13800138000', { defaultRegion: 'CN' })).toBe(true);
    expect(phonesMatch('+86 138 0013 8000', '13800138000', { defaultRegion: 'CN' })).toBe(true);
    expect(phonesMatch('+1 380 013 8000', '13800138000', { defaultRegion: 'CN' })).toBe(false);
  });

  it("lists a customer's orders by their own number only", async () => {
    const orders = new OrderAccess(await createErp(erpConfigSchema.parse({})), 2_000, undefined, () => 'CN');
    const ids = async (phone: string) => (await orders.listMine({ phone }, 'acme')).map((o) => o.id);
    expect(await ids('138 0013 8000')).toEqual(['CN20261101']);
    expect(await ids('+1 380 013 8000')).toEqual([]);
    expect(await ids('+65 1555 0100')).toEqual([]);
    expect((await ids('+1 555 0100')).sort()).toEqual(['XX12345678', 'ZZ99999999']);
  });

  it('does not show an order to a channel-verified phone of another country', async () => {
    const commands = new DialogCommands({
      orders: await access(),
      maxVerificationAttempts: 3,
      ticketOnErpFailure: false,
    });
    const singapore = await ask(commands, 'XX12345678', { verifiedPhone: '+65 1555 0100' });
    expect(singapore.outcome).toBe('verify');
    expect(singapore.text).not.toContain(TRACKING);
    const america = await ask(commands, 'CN20261101', { verifiedPhone: '+1 380 013 8000' });
    expect(america.outcome).toBe('verify');
    expect(america.text).not.toContain('SF1234567890123');
    expect((await ask(commands, 'CN20261101', { verifiedPhone: '+86 138 0013 8000' })).outcome).toBe('shown');
    expect((await ask(commands, 'XX12345678', { verifiedPhone: '+1 555 0100' })).outcome).toBe('shown');
  });
});

describe('failed proofs per requester and per order', () => {
  it('locks a stranger out after their own failures, while the owner still proves ownership', async () => {
    let now = Date.parse('2026-11-20T10:00:00Z');
    const limiter = new MemoryVerificationLimiter({
      ...verificationLimitOptions(hubConfigSchema.parse({})),
      now: () => now,
    });
    const commands = new DialogCommands({
      orders: await access(),
      maxVerificationAttempts: 3,
      verificationLimit: limiter,
      ticketOnErpFailure: false,
    });
    // Twelve wrong guesses, a new conversation for each so no per-conversation limit stops them.
    const outcomes: Array<CommandReply['outcome']> = [];
    for (let i = 0; i < 12; i++) {
      outcomes.push((await ask(commands, `${ORDER} mallory${i}@example.com`, { sender: 'mallory' })).outcome);
      now += 1_000;
    }
    expect(outcomes.slice(0, 4)).toEqual(['verify', 'verify', 'verify', 'verify']);
    expect(outcomes.slice(4)).toEqual(Array(8).fill('locked'));
    // Locked out for the hour, even with the right answer: it is the requester who is locked.
    expect((await ask(commands, `${ORDER} ${OWNER_EMAIL}`, { sender: 'mallory' })).outcome).toBe('locked');

    // The owner, at once: by their channel-verified phone, or by e-mail.
    expect((await ask(commands, ORDER, { verifiedPhone: '+1 555 0100' })).outcome).toBe('shown');
    const typed = await ask(commands, `${ORDER} ${OWNER_EMAIL}`, { sender: 'alex' });
    expect(typed.outcome).toBe('shown');
    expect(typed.text).toContain(TRACKING);
    expect((await ask(commands, `${ORDER} 555 0100`, { sender: 'alex-phone' })).outcome).toBe('shown');
  });

  it('slows guesses from many identities with a bounded back-off, and the owner gets through after it', async () => {
    let now = Date.parse('2026-11-20T10:00:00Z');
    const limiter = new MemoryVerificationLimiter({
      limit: 3,
      windowMs: 3_600_000,
      backoffMs: 5_000,
      maxBackoffMs: 60_000,
      now: () => now,
    });
    const commands = new DialogCommands({
      orders: await access(),
      maxVerificationAttempts: 3,
      verificationLimit: limiter,
      ticketOnErpFailure: false,
    });
    for (let i = 0; i < 3; i++) await ask(commands, `${ORDER} guess${i}@example.com`, { sender: `bot-${i}` });
    // Past the order's limit: the next typed guess waits 5 s, from anyone.
    const waiting = await ask(commands, `${ORDER} ${OWNER_EMAIL}`, { sender: 'alex' });
    expect(waiting.outcome).toBe('locked');
    expect(waiting.text).toMatch(/try again in 5 seconds/);
    // A channel-verified owner is not held back by the order's back-off.
    expect((await ask(commands, ORDER, { verifiedEmail: OWNER_EMAIL })).outcome).toBe('shown');
    // Each further failure doubles the wait, never past maxBackoffMs.
    for (let i = 3; i < 12; i++) {
      now += 120_000;
      await ask(commands, `${ORDER} guess${i}@example.com`, { sender: `bot-${i}` });
    }
    expect(await limiter.orderWaitMs('acme', ORDER)).toBe(60_000);
    now += 60_000;
    expect((await ask(commands, `${ORDER} ${OWNER_EMAIL}`, { sender: 'alex' })).outcome).toBe('shown');
  });

  it('counts the failures of a channel-verified phone', async () => {
    const limiter = new MemoryVerificationLimiter({
      limit: 100,
      windowMs: 3_600_000,
      maxFailuresPerRequester: 3,
    });
    const commands = new DialogCommands({
      orders: await access(),
      maxVerificationAttempts: 3,
      verificationLimit: limiter,
      ticketOnErpFailure: false,
    });
    const verifiedPhone = '+65 1555 0100';
    const outcomes = [];
    for (const order of ['XX12345678', 'CN20261101', 'AB00000001', 'AB00000002']) {
      outcomes.push((await ask(commands, order, { verifiedPhone })).outcome);
    }
    expect(outcomes).toEqual(['verify', 'verify', 'locked', 'locked']);
    expect(await limiter.requesterWaitMs('acme', 'phone:+6515550100')).toBeGreaterThan(0);
    // Typing someone else's e-mail does not get round it either.
    expect((await ask(commands, `${ORDER} ${OWNER_EMAIL}`, { verifiedPhone })).outcome).toBe('locked');
  });
});

describe('failed proofs on Redis, shared by every process', () => {
  const prefix = `test-proof-${randomUUID().slice(0, 8)}`;
  const one = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const two = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  afterAll(async () => {
    const keys = await one.keys(`${prefix}:*`);
    if (keys.length) await one.del(...keys);
    await one.quit();
    await two.quit();
  });

  it('locks a requester and backs an order off across processes, the owner unaffected', async () => {
    const options = {
      limit: 2,
      windowMs: 60_000,
      backoffMs: 1_000,
      maxBackoffMs: 4_000,
      maxFailuresPerRequester: 3,
    };
    const a = new RedisVerificationLimiter(one, prefix, options);
    const b = new RedisVerificationLimiter(two, prefix, options);
    expect(await a.recordFailure('acme', ORDER, 'webchat:mallory')).toBe(false);
    expect(await b.recordFailure('acme', ORDER, 'webchat:mallory')).toBe(true);
    expect(await a.requesterWaitMs('acme', 'webchat:mallory')).toBe(0);
    await b.recordFailure('acme', ORDER, 'webchat:mallory');
    expect(await a.requesterWaitMs('acme', 'webchat:mallory')).toBeGreaterThan(55_000);
    expect(await b.requesterWaitMs('acme', 'webchat:alex')).toBe(0);
    const wait = await a.orderWaitMs('acme', ORDER);
    expect(wait).toBeGreaterThan(1_000);
    expect(wait).toBeLessThanOrEqual(2_000);
    for (let i = 0; i < 5; i++) await a.recordFailure('acme', ORDER, `webchat:bot-${i}`);
    expect(await b.orderWaitMs('acme', ORDER)).toBeLessThanOrEqual(4_000);
  });
});

describe('one-time codes by e-mail over SMTP', () => {
  const mails: Array<{ to: string; body: string }> = [];
  let server: SMTPServer;
  let mailer: EmailCodeSender;
  let port = 0;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      hideSTARTTLS: true,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address).join(',');
          mails.push({ to, body: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
    const config = hubConfigSchema.parse({
      proof: { email: { smtp: { host: '127.0.0.1', port, secure: false }, from: 'Hub <hub@example.com>' } },
    });
    mailer = emailCodeSender(config.proof.email as NonNullable<typeof config.proof.email>);
  });
  afterAll(async () => {
    mailer?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function setup(options: { mode?: CodeProof['mode']; clock?: { t: number } } = {}) {
    return access().then(
      (orders) =>
        new DialogCommands({
          orders,
          maxVerificationAttempts: 3,
          verificationLimit: new MemoryVerificationLimiter({ limit: 10, windowMs: 3_600_000 }),
          ticketOnErpFailure: false,
          codes: {
            codes: new OneTimeCodes(mailer.send, {
              ttlMs: 60_000,
              attempts: 3,
              ...(options.clock ? { now: () => (options.clock as { t: number }).t } : {}),
            }),
            mode: options.mode ?? 'offer',
            resendAfterMs: 60_000,
            deliverable: (kind) => kind === 'email',
          },
        }),
    );
  }

  const codeIn = (mail: { body: string } | undefined) => /\b(\d{6})\b/.exec(mail?.body ?? '')?.[1] ?? '';

  it('sends a code to the e-mail on the order; the customer types it and sees the order', async () => {
    const commands = await setup();
    const chat = conversation(commands, { sender: 'alex-without-details' });
    const asked = await chat.lookup(ORDER);
    expect(asked.text).toMatch(/type "code"/);
    const before = mails.length;
    const sent = await chat.say('I do not remember, send me a code');
    expect(sent.text).toMatch(/6-digit code/);
    expect(sent.text).not.toContain(OWNER_EMAIL);
    expect(mails.length).toBe(before + 1);
    const mail = mails.at(-1);
    expect(mail?.to).toBe(OWNER_EMAIL);
    const code = codeIn(mail);
    expect(code).toMatch(/^\d{6}$/);
    expect(JSON.stringify(chat.state.slots)).not.toContain(code);

    const shown = await chat.say(`it is ${code}`);
    expect(shown.outcome).toBe('shown');
    expect(shown.text).toContain(TRACKING);
    // Proven for that order in that conversation: asked again, it is shown without a question.
    expect((await chat.lookup(ORDER)).outcome).toBe('shown');
    // ...and for that order only.
    expect((await chat.lookup('ZZ99999999')).outcome).toBe('verify');

    // The code is spent: a stranger who got hold of it proves nothing with it.
    const stranger = conversation(commands, { sender: 'mallory' });
    await stranger.lookup(ORDER);
    await stranger.say('code');
    const reused = await stranger.say(code);
    expect(reused.outcome).not.toBe('shown');
    expect(reused.text).not.toContain(TRACKING);
  });

  it('refuses an expired code and a code typed again after its wrong tries', async () => {
    const clock = { t: 1_000_000 };
    const commands = await setup({ clock });
    const chat = conversation(commands, { sender: 'slow' });
    await chat.lookup(ORDER);
    await chat.say('code');
    const code = codeIn(mails.at(-1));
    clock.t += 61_000;
    const expired = await chat.say(code);
    expect(expired.text).toMatch(/expired/);
    expect(expired.outcome).toBe('verify');

    const retry = conversation(commands, { sender: 'clumsy' });
    await retry.lookup(ORDER);
    await retry.say('code');
    const right = codeIn(mails.at(-1));
    const wrong = right === '000000' ? '111111' : '000000';
    expect((await retry.say(wrong)).text).toMatch(/2 tries left/);
    expect((await retry.say(wrong)).text).toMatch(/1 try left/);
    expect((await retry.say(wrong)).text).toMatch(/expired or was used up/);
    const late = await retry.say(right);
    expect(late.outcome).not.toBe('shown');
  });

  it('works through the dialog engine: order question, "code", the mailed code, the order', async () => {
    const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
    const commands = await setup();
    const knowledge = await createKnowledge(config);
    const engine = new DialogEngine({
      config,
      retriever: knowledge.retriever,
      commands,
      dialog: await loadDialogKit(config, { commands }),
    });
    let state: DialogState = emptyState('webchat:acme:engine');
    let n = 0;
    const say = async (text: string) => {
      const event: InboundEvent = {
        id: `engine:${++n}`,
        kind: 'message',
        ref: { channel: 'webchat', tenant: 'acme', conversation: 'engine' },
        sender: { id: 'alex-on-web' },
        receivedAt: new Date().toISOString(),
        text,
      };
      const result = await engine.respond(event, state);
      state = result.state;
      return result.replies.map((r) => (r.content.type === 'text' ? r.content.text : '')).join('\n');
    };
    try {
      expect(await say('where is my order XX12345678')).toMatch(/type "code"/);
      const before = mails.length;
      expect(await say('code')).toMatch(/6-digit code/);
      expect(mails.length).toBe(before + 1);
      expect(await say(codeIn(mails.at(-1)))).toContain(TRACKING);
    } finally {
      await knowledge.close();
    }
  });

  it('sends at once when configured to, and answers a missing order the same way without a mail', async () => {
    const commands = await setup({ mode: 'always' });
    const before = mails.length;
    const chat = conversation(commands, { sender: 'always' });
    const sent = await chat.lookup(ORDER);
    expect(sent.text).toMatch(/6-digit code/);
    expect(mails.length).toBe(before + 1);
    expect((await chat.say(codeIn(mails.at(-1)))).outcome).toBe('shown');

    const probe = conversation(commands, { sender: 'probe' });
    const missing = await probe.lookup('QQ00000000');
    expect(missing.text).toBe(sent.text.replace(ORDER, 'QQ00000000'));
    expect(mails.length).toBe(before + 1);
    expect((await probe.say('123456')).outcome).toBe('verify');
  });
});

async function access() {
  return new OrderAccess(await createErp(erpConfigSchema.parse({})), 2_000);
}

let conversations = 0;
interface Who {
  sender?: string;
  verifiedPhone?: string;
  verifiedEmail?: string;
}

function conversation(commands: DialogCommands, who: Who) {
  const id = `proof-${++conversations}`;
  let n = 0;
  const state: DialogState = emptyState(`webchat:acme:${id}`);
  const input = (text: string) => {
    const verified = {
      ...(who.verifiedPhone ? { phone: who.verifiedPhone } : {}),
      ...(who.verifiedEmail ? { email: who.verifiedEmail } : {}),
    };
    const event: InboundEvent = {
      id: `${id}:${++n}`,
      kind: 'message',
      ref: { channel: 'webchat', tenant: 'acme', conversation: id },
      sender: { id: who.sender ?? id },
      receivedAt: new Date().toISOString(),
      text,
      ...(Object.keys(verified).length ? { channelData: { verified } } : {}),
    };
    return { event, text, language: 'en' as const, state };
  };
  return {
    state,
    lookup: (orderId: string) => commands.lookupOrder(input(orderId), orderId),
    lookupOrder: (text: string, orderId: string) => commands.lookupOrder(input(text), orderId),
    say: async (text: string): Promise<CommandReply> =>
      (await commands.resumeProof(input(text))) ?? { text: '', outcome: undefined },
  };
}

/** One message in a new conversation, as a guesser opening chat after chat sends. */
function ask(commands: DialogCommands, text: string, who: Who = {}): Promise<CommandReply> {
  const orderId = /[A-Z]{2}\d{8}/.exec(text)?.[0] ?? ORDER;
  return conversation(commands, who).lookupOrder(text, orderId);
}
