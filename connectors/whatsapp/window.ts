import type { Redis } from 'ioredis';

/** WhatsApp accepts free-form messages for 24 hours after the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000;

/**
 * When each customer last wrote, per channel. Written by the process that receives the webhook,
 * read by whichever process sends the reply, so it lives in Redis when the hub runs on Redis.
 */
export interface ServiceWindowStore {
  /** The customer wrote at `atMs` (the platform's timestamp); a later time is never moved back. */
  touch(customer: string, atMs: number): Promise<void>;
  isOpen(customer: string, nowMs?: number): Promise<boolean>;
  /** The platform said the window is closed (error 131047), whatever we remembered. */
  forget(customer: string): Promise<void>;
  /**
   * Take the right to send the re-engagement template; false when one went out since the customer
   * last wrote, so a closed window gets one template, not one per reply.
   */
  claimTemplate(customer: string): Promise<boolean>;
  releaseTemplate(customer: string): Promise<void>;
  close(): Promise<void>;
}

export class MemoryServiceWindowStore implements ServiceWindowStore {
  private readonly lastInbound = new Map<string, number>();
  private readonly templates = new Map<string, number>();

  async touch(customer: string, atMs: number): Promise<void> {
    if (atMs > (this.lastInbound.get(customer) ?? 0)) this.lastInbound.set(customer, atMs);
    this.templates.delete(customer);
    this.forgetExpired();
  }

  async isOpen(customer: string, nowMs = Date.now()): Promise<boolean> {
    return (this.lastInbound.get(customer) ?? 0) + SERVICE_WINDOW_MS > nowMs;
  }

  async forget(customer: string): Promise<void> {
    this.lastInbound.delete(customer);
  }

  async claimTemplate(customer: string): Promise<boolean> {
    const now = Date.now();
    if ((this.templates.get(customer) ?? 0) > now) return false;
    this.templates.set(customer, now + SERVICE_WINDOW_MS);
    return true;
  }

  async releaseTemplate(customer: string): Promise<void> {
    this.templates.delete(customer);
  }

  async close(): Promise<void> {}

  private forgetExpired(): void {
    if (this.lastInbound.size < 10_000) return;
    const cutoff = Date.now() - SERVICE_WINDOW_MS;
    for (const [customer, at] of this.lastInbound) if (at < cutoff) this.lastInbound.delete(customer);
  }
}

/** Keep the later time; the key expires when the window closes. Time from Redis, so replicas agree. */
const TOUCH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('DEL', KEYS[2])
if at <= current then return 0 end
local ttl = at + tonumber(ARGV[2]) - now
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1
`;

export class RedisServiceWindowStore implements ServiceWindowStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly channel: string,
  ) {}

  async touch(customer: string, atMs: number): Promise<void> {
    await this.redis.eval(
      TOUCH,
      2,
      this.key('window', customer),
      this.key('template', customer),
      String(Math.floor(atMs)),
      String(SERVICE_WINDOW_MS),
    );
  }

  async isOpen(customer: string, nowMs = Date.now()): Promise<boolean> {
    const at = Number(await this.redis.get(this.key('window', customer)));
    return at > 0 && at + SERVICE_WINDOW_MS > nowMs;
  }

  async forget(customer: string): Promise<void> {
    await this.redis.del(this.key('window', customer));
  }

  async claimTemplate(customer: string): Promise<boolean> {
    const set = await this.redis.set(this.key('template', customer), '1', 'PX', SERVICE_WINDOW_MS, 'NX');
    return set === 'OK';
  }

  async releaseTemplate(customer: string): Promise<void> {
    await this.redis.del(this.key('template', customer));
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }

  private key(kind: string, customer: string): string {
    return `${this.prefix}:whatsapp:${this.channel}:${kind}:${customer}`;
  }
}
