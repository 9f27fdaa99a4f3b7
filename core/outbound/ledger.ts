import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../state/redis-client';
import type { ClaimResult, DeliveryLedger } from './types';

interface Entry {
  state: 'sending' | 'sent';
  token?: string;
  platformMessageId?: string;
}

const RELEASE = `
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value).token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const MARK_SENT = `
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value).state == 'sent' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

export class RedisDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const token = randomUUID();
    const entry: Entry = { state: 'sending', token };
    const set = await this.redis.set(this.key(key), JSON.stringify(entry), 'PX', leaseMs, 'NX');
    if (set === 'OK') return { state: 'claimed', token };
    const existing = await this.redis.get(this.key(key));
    if (!existing) return this.claim(key, leaseMs);
    const parsed = JSON.parse(existing) as Entry;
    return parsed.state === 'sent'
      ? { state: 'sent', platformMessageId: parsed.platformMessageId }
      : { state: 'in_flight' };
  }

  async markSent(key: string, _token: string, ttlMs: number, platformMessageId?: string): Promise<void> {
    const entry: Entry = { state: 'sent', platformMessageId };
    await this.redis.eval(MARK_SENT, 1, this.key(key), JSON.stringify(entry), String(Math.ceil(ttlMs)));
  }

  async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(key), token);
  }

  /** The connection is createOutbound's, which closes it. */
  async close(): Promise<void> {}

  private key(key: string): string {
    return `${this.prefix}:outbound:${key}`;
  }
}

/** Expired entries are already read as absent; sweeping them only bounds the memory they hold. */
const SWEEP_EVERY_MS = 60_000;

export class MemoryDeliveryLedger implements DeliveryLedger {
  private readonly entries = new Map<string, Entry & { expiresAt: number }>();
  private nextSweepAt = 0;

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = Date.now();
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > now) {
      return existing.state === 'sent'
        ? { state: 'sent', platformMessageId: existing.platformMessageId }
        : { state: 'in_flight' };
    }
    const token = randomUUID();
    this.entries.set(key, { state: 'sending', token, expiresAt: now + leaseMs });
    return { state: 'claimed', token };
  }

  async markSent(key: string, _token: string, ttlMs: number, platformMessageId?: string): Promise<void> {
    this.entries.set(key, { state: 'sent', platformMessageId, expiresAt: Date.now() + ttlMs });
    this.forgetExpired();
  }

  async release(key: string, token: string): Promise<void> {
    if (this.entries.get(key)?.token === token) this.entries.delete(key);
  }

  async close(): Promise<void> {}

  /** At most once a minute: a walk over every entry per send would grow with the idempotency window. */
  private forgetExpired(): void {
    const now = Date.now();
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + SWEEP_EVERY_MS;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
