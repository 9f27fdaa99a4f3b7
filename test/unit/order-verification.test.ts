import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createErp, erpConfigSchema } from '../../adapters/erp';
import { hubConfigSchema } from '../../core/config/schema';
import { type CommandReply, DialogCommands } from '../../core/dialog/commands';
import { emptyState } from '../../core/dialog/engine';
import { OrderAccess } from '../../core/orders/access';
import {
  createVerificationLimiter,
  MemoryVerificationLimiter,
  RedisVerificationLimiter,
  type VerificationLimiter,
} from '../../core/orders/verification-limit';
import type { InboundEvent } from '../../core/types';

/**
 * Guessing an order's phone or e-mail from ever new conversations: the per-order limit of failed
 * proofs, shared by every conversation (and, on Redis, every process), locks the order for all of
 * them until the window passes.
 */
const ORDER = 'XX12345678';
const OWNER = 'alex@example.com';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function commandsWith(limit: VerificationLimiter) {
  return new DialogCommands({
    orders: new OrderAccess(await createErp(erpConfigSchema.parse({})), 2_000),
    maxVerificationAttempts: 3,
    verificationLimit: limit,
    ticketOnErpFailure: false,
  });
}

let conversations = 0;
/** One message in a brand-new conversation: what a guesser opening chat after chat sends. */
async function freshConversation(
  commands: DialogCommands,
  text: string,
  options: { tenant?: string; verifiedEmail?: string } = {},
): Promise<CommandReply> {
  const conversation = `guess-${++conversations}`;
  const tenant = options.tenant ?? 'acme';
  const event: InboundEvent = {
    id: `${conversation}:1`,
    kind: 'message',
    ref: { channel: 'webchat', tenant, conversation },
    sender: { id: conversation },
    receivedAt: new Date().toISOString(),
    text,
    ...(options.verifiedEmail ? { channelData: { verified: { email: options.verifiedEmail } } } : {}),
  };
  const state = emptyState(`webchat:${tenant}:${conversation}`);
  return commands.lookupOrder({ event, text, language: 'en', state }, ORDER);
}

describe('failed proofs per order, over all conversations', () => {
  it('after strangers fail on an order, typed answers wait out a back-off and the owner still gets through', async () => {
    let now = Date.parse('2026-11-20T10:00:00Z');
    const limiter = new MemoryVerificationLimiter({ limit: 3, windowMs: 3_600_000, now: () => now });
    const commands = await commandsWith(limiter);

    // Each conversation stays under its own limit of 3.
    expect((await freshConversation(commands, `${ORDER} mallory1@example.com`)).outcome).toBe('verify');
    expect((await freshConversation(commands, `${ORDER} mallory2@example.com`)).outcome).toBe('verify');
    const third = await freshConversation(commands, `${ORDER} +1 555 0199`);
    expect(third.outcome).toBe('locked');
    expect(third.text).toMatch(/human/);

    // Typed answers now wait out the order's back-off (5 s), the owner's too...
    const owner = await freshConversation(commands, `${ORDER} ${OWNER}`);
    expect(owner.outcome).toBe('locked');
    // ...but a question without proof is still asked for it: strangers cannot lock the owner out.
    expect((await freshConversation(commands, ORDER)).outcome).toBe('verify');
    now += 5_000;
    expect((await freshConversation(commands, `${ORDER} ${OWNER}`)).outcome).toBe('shown');
    now += 59 * 60_000;

    // The same order id in another tenant is another order.
    expect((await freshConversation(commands, `${ORDER} ${OWNER}`, { tenant: 'globex' })).outcome).toBe(
      'shown',
    );
    // Contact details the channel vouches for are no guess.
    expect((await freshConversation(commands, ORDER, { verifiedEmail: OWNER })).outcome).toBe('shown');

    // An hour after the first failure only two remain in the window: the owner gets through.
    now += 60_001;
    const later = await freshConversation(commands, `${ORDER} ${OWNER}`);
    expect(later.outcome).toBe('shown');
    expect(later.text).toMatch(/shipped|DHL/i);
  });

  it('does not count a right answer, nor a question that has no proof yet', async () => {
    const limiter = new MemoryVerificationLimiter({ limit: 2, windowMs: 3_600_000 });
    const commands = await commandsWith(limiter);
    for (let i = 0; i < 5; i++) {
      expect((await freshConversation(commands, ORDER)).outcome).toBe('verify');
      expect((await freshConversation(commands, `${ORDER} ${OWNER}`)).outcome).toBe('shown');
    }
    expect(await limiter.locked('acme', ORDER)).toBe(false);
  });
});

describe('on Redis, shared by every process', () => {
  const prefix = `test-verify-${randomUUID().slice(0, 8)}`;
  const connections: Redis[] = [];
  const connect = () => {
    const redis = new Redis(REDIS_URL);
    connections.push(redis);
    return redis;
  };
  afterAll(async () => {
    const redis = connect();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    for (const connection of connections) await connection.quit();
  });

  it('counts failures from two processes together and unlocks when the window passes', async () => {
    const options = { limit: 3, windowMs: 600 };
    const one = await commandsWith(new RedisVerificationLimiter(connect(), prefix, options));
    const two = await commandsWith(new RedisVerificationLimiter(connect(), prefix, options));

    expect((await freshConversation(one, `${ORDER} a@example.com`)).outcome).toBe('verify');
    expect((await freshConversation(two, `${ORDER} b@example.com`)).outcome).toBe('verify');
    expect((await freshConversation(one, `${ORDER} c@example.com`)).outcome).toBe('locked');
    expect((await freshConversation(two, `${ORDER} ${OWNER}`)).outcome).toBe('locked');

    const deadline = Date.now() + 5_000;
    let outcome: CommandReply['outcome'];
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      outcome = (await freshConversation(two, `${ORDER} ${OWNER}`)).outcome;
    } while (outcome === 'locked' && Date.now() < deadline);
    expect(outcome).toBe('shown');
  });

  it('is chosen when the hub runs on Redis, in memory otherwise', async () => {
    const embedded = await createVerificationLimiter(hubConfigSchema.parse({}));
    expect(embedded).toBeInstanceOf(MemoryVerificationLimiter);
    const config = hubConfigSchema.parse({
      bus: { driver: 'bullmq' },
      redis: { url: REDIS_URL, keyPrefix: prefix },
      erp: { verification: { maxFailuresPerOrderPerHour: 1 } },
    });
    const shared = await createVerificationLimiter(config);
    try {
      expect(shared).toBeInstanceOf(RedisVerificationLimiter);
      expect(await shared.recordFailure('acme', 'zz00000001')).toBe(true);
      expect(await shared.locked('acme', 'ZZ00000001')).toBe(true);
    } finally {
      await shared.close?.();
    }
  });
});
