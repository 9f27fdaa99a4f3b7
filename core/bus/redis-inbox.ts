import type { Redis } from 'ioredis';
import { LuaScript } from '../state/lua';
import type { DeadLetter, TenantBacklog } from '../types';

/** Redis's own clock in ms: one clock for every process's "accepted at" and "now". */
const REDIS_NOW_MS = `local clock = redis.call('TIME')
local nowMs = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * Accept an event: claim its id for the dedupe window, append it to its conversation's inbox, count
 * it pending (in all and for its tenant), mark the conversation active and note when it was
 * accepted (in all and for its tenant). One script, so a duplicate can never be half-accepted.
 * KEYS: dedupe, inbox, pending, active, accepted, tenant-pending, tenant's accepted.
 * ARGV: event JSON, window ms, now ms, conversation key, event id, tenant.
 */
const APPEND = new LuaScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[4])
${REDIS_NOW_MS}
redis.call('ZADD', KEYS[5], nowMs, ARGV[5])
redis.call('HINCRBY', KEYS[6], ARGV[6], 1)
redis.call('ZADD', KEYS[7], nowMs, ARGV[5])
return 1
`);

/**
 * A tenant's backlog: its pending count and the age in ms of its oldest accepted event not yet
 * handled. O(1) and O(log n): what admission asks for every message.
 * KEYS: tenant-pending, tenant's accepted. ARGV: tenant.
 */
const TENANT_BACKLOG = new LuaScript(`
local pending = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #oldest == 0 then return {pending, 0} end
${REDIS_NOW_MS}
return {pending, math.max(0, nowMs - tonumber(oldest[2]))}
`);

/** Age in ms of the oldest accepted event not yet handled (0 when none). KEYS: accepted. */
const OLDEST_AGE = new LuaScript(`
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #oldest == 0 then return 0 end
${REDIS_NOW_MS}
return math.max(0, nowMs - tonumber(oldest[2]))
`);

/**
 * Start an attempt on the head event: refuse while it is backing off, else count the attempt. The
 * count lives in Redis so a crash mid-handler still uses up an attempt (a poison event that kills
 * workers ends in the dead-letter queue instead of looping).
 * KEYS: attempts, retry-at, outages. ARGV: event id, now ms.
 * Returns {attempt, 0, outages so far} or {0, retryAt}.
 */
const BEGIN_ATTEMPT = new LuaScript(`
local retryAt = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if retryAt > tonumber(ARGV[2]) then return {0, retryAt} end
local attempt = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return {attempt, 0, tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')}
`);

/**
 * The attempt failed because a dependency was down: give the attempt back and count the outage.
 * KEYS: attempts, outages. ARGV: event id. Returns the outages in a row so far.
 */
const REFUND_ATTEMPT = new LuaScript(`
redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
`);

/**
 * Remove the head after it was handled (or dead-letter it), only if no newer lock holder exists: the
 * fence counter still equals our token. A holder whose lease lapsed while nobody took over may still
 * finish; one that was overtaken leaves the head to its successor. The event is removed by value:
 * a dead letter replayed meanwhile may stand in front of it. The dead-letter order is Redis's own
 * clock in microseconds, so one conversation's letters keep their order whichever worker wrote them.
 * The tenant's count goes down only for an event it counted (one accepted before the tenant
 * counts existed is not in the tenant's set), so it never drifts below the truth.
 * KEYS: fence, inbox, attempts, retry-at, pending, active, dlq, dlq-order, outages, accepted,
 * tenant-pending, tenant's accepted.
 * ARGV: token, raw event, event id, now ms, conversation key, dead letter JSON or '', tenant.
 */
const REMOVE_HEAD = new LuaScript(`
if tonumber(redis.call('GET', KEYS[1]) or '-1') ~= tonumber(ARGV[1]) then return 0 end
if redis.call('LREM', KEYS[2], 1, ARGV[2]) == 0 then return 0 end
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('HDEL', KEYS[9], ARGV[3])
redis.call('ZREM', KEYS[10], ARGV[3])
if redis.call('ZREM', KEYS[12], ARGV[3]) == 1 then
  if redis.call('HINCRBY', KEYS[11], ARGV[7], -1) <= 0 then redis.call('HDEL', KEYS[11], ARGV[7]) end
end
redis.call('DECR', KEYS[5])
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[6], ARGV[5])
else
  redis.call('ZADD', KEYS[6], ARGV[4], ARGV[5])
end
if ARGV[6] ~= '' then
  local time = redis.call('TIME')
  redis.call('HSET', KEYS[7], ARGV[3], ARGV[6])
  redis.call('ZADD', KEYS[8], time[1] .. string.format('%06d', time[2]), ARGV[3])
end
return 1
`);

/**
 * Move one conversation's dead letters back to the head of its inbox, before the newer events there,
 * in one step: a drain that starts meanwhile sees all of them or none, so they keep their order. They
 * count as accepted again now.
 * KEYS: dlq, dlq-order, inbox, pending, active, accepted, tenant-pending, tenant's accepted.
 * ARGV: now ms, conversation key, tenant, then event id and event JSON for each letter, newest first.
 */
const REPLAY = new LuaScript(`
${REDIS_NOW_MS}
local moved = 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HDEL', KEYS[1], id) == 1 then
    redis.call('ZREM', KEYS[2], id)
    redis.call('LPUSH', KEYS[3], ARGV[i + 1])
    redis.call('INCR', KEYS[4])
    redis.call('ZADD', KEYS[6], nowMs, id)
    if redis.call('ZADD', KEYS[8], nowMs, id) == 1 then redis.call('HINCRBY', KEYS[7], ARGV[3], 1) end
    moved = moved + 1
  end
end
if moved > 0 then redis.call('ZADD', KEYS[5], 'NX', ARGV[1], ARGV[2]) end
return moved
`);

/** `attempt` counts against maxAttempts; `outages` are the failures in a row a dependency caused. */
export type AttemptStart = { attempt: number; outages: number } | { retryAt: number };

/**
 * The Redis side of the BullMQ bus: per-conversation inboxes (lists, head first), attempt counts,
 * backoff deadlines, the dead-letter queue, and the set of conversations that still have events.
 */
export class RedisInbox {
  constructor(
    private readonly redis: Redis,
    /** e.g. "hub:bus:hub-inbound". */
    private readonly base: string,
    private readonly fenceKeyOf: (conversation: string) => string,
  ) {}

  private inboxKey(conversation: string): string {
    return `${this.base}:inbox:${conversation}`;
  }

  private key(
    name:
      | 'attempts'
      | 'outages'
      | 'retry-at'
      | 'pending'
      | 'active'
      | 'dlq'
      | 'dlq-order'
      | 'accepted'
      | 'tenant-pending',
  ): string {
    return `${this.base}:${name}`;
  }

  /** When each of a tenant's events not yet handled was accepted (a sorted set: oldest first). */
  private tenantAcceptedKey(tenant: string): string {
    return `${this.base}:tenant-accepted:${tenant}`;
  }

  async append(
    conversation: string,
    event: { id: string; ref: { tenant: string } },
    dedupeWindowMs: number,
  ): Promise<boolean> {
    const { tenant } = event.ref;
    const result = await APPEND.run(
      this.redis,
      [
        `${this.base}:dedupe:${event.id}`,
        this.inboxKey(conversation),
        this.key('pending'),
        this.key('active'),
        this.key('accepted'),
        this.key('tenant-pending'),
        this.tenantAcceptedKey(tenant),
      ],
      [JSON.stringify(event), dedupeWindowMs, Date.now(), conversation, event.id, tenant],
    );
    return result === 1;
  }

  /** One tenant's events not yet handled, and how long the oldest of them has waited. */
  async tenantBacklog(tenant: string): Promise<TenantBacklog> {
    const [pending, oldestAgeMs] = (await TENANT_BACKLOG.run(
      this.redis,
      [this.key('tenant-pending'), this.tenantAcceptedKey(tenant)],
      [tenant],
    )) as [number, number];
    return { pending: Math.max(0, Number(pending)), oldestAgeMs: Number(oldestAgeMs) };
  }

  /** Every tenant with events not yet handled; one read per such tenant (scrape time only). */
  async tenantBacklogs(): Promise<Map<string, TenantBacklog>> {
    const tenants = Object.keys(await this.redis.hgetall(this.key('tenant-pending')));
    const backlogs = new Map<string, TenantBacklog>();
    for (const tenant of tenants) backlogs.set(tenant, await this.tenantBacklog(tenant));
    return backlogs;
  }

  /** Whether the event is still waiting or running (accepted, not yet handled nor dead-lettered). */
  async isPending(eventId: string, tenant: string): Promise<boolean> {
    return (await this.redis.zscore(this.tenantAcceptedKey(tenant), eventId)) !== null;
  }

  head(conversation: string): Promise<string | null> {
    return this.redis.lindex(this.inboxKey(conversation), 0);
  }

  async isEmpty(conversation: string): Promise<boolean> {
    return (await this.redis.llen(this.inboxKey(conversation))) === 0;
  }

  async beginAttempt(eventId: string): Promise<AttemptStart> {
    const [attempt, retryAt, outages] = (await BEGIN_ATTEMPT.run(
      this.redis,
      [this.key('attempts'), this.key('retry-at'), this.key('outages')],
      [eventId, Date.now()],
    )) as [number, number?, number?];
    return attempt > 0 ? { attempt, outages: outages ?? 0 } : { retryAt: retryAt ?? 0 };
  }

  /** Give back the attempt a dependency's outage spoilt; returns the outages in a row so far. */
  async refundAttempt(eventId: string): Promise<number> {
    return (await REFUND_ATTEMPT.run(
      this.redis,
      [this.key('attempts'), this.key('outages')],
      [eventId],
    )) as number;
  }

  async scheduleRetry(eventId: string, retryAt: number): Promise<void> {
    await this.redis.hset(this.key('retry-at'), eventId, retryAt);
  }

  /** False when a newer lock holder exists: the head is theirs now. */
  async removeHead(
    conversation: string,
    raw: string,
    event: { id: string; ref: { tenant: string } },
    token: number,
    deadLetter?: DeadLetter,
  ): Promise<boolean> {
    const eventId = event.id;
    const keys = [
      this.fenceKeyOf(conversation),
      this.inboxKey(conversation),
      this.key('attempts'),
      this.key('retry-at'),
      this.key('pending'),
      this.key('active'),
      this.key('dlq'),
      this.key('dlq-order'),
      this.key('outages'),
      this.key('accepted'),
      this.key('tenant-pending'),
      this.tenantAcceptedKey(event.ref.tenant),
    ];
    const letter = deadLetter ? JSON.stringify(deadLetter) : '';
    const args = [token, raw, eventId, Date.now(), conversation, letter, event.ref.tenant];
    return (await REMOVE_HEAD.run(this.redis, keys, args)) === 1;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const ids = await this.redis.zrange(this.key('dlq-order'), 0, limit - 1);
    if (ids.length === 0) return [];
    const letters = await this.redis.hmget(this.key('dlq'), ...ids);
    return letters
      .filter((json): json is string => json !== null)
      .map((json) => JSON.parse(json) as DeadLetter);
  }

  async deadLetterIds(): Promise<string[]> {
    return this.redis.zrange(this.key('dlq-order'), 0, -1);
  }

  /**
   * Moves dead letters back to their inboxes, one script per conversation (a conversation's letters
   * in the order they failed, before its newer events). Returns the conversations that got letters
   * back and how many letters moved.
   */
  async replay(
    eventIds: string[],
    conversationOf: (letter: DeadLetter) => string,
  ): Promise<{ conversations: string[]; moved: number }> {
    if (eventIds.length === 0) return { conversations: [], moved: 0 };
    const found = await this.redis.hmget(this.key('dlq'), ...eventIds);
    // Oldest failure first, grouped by conversation (a Map keeps the first-seen order).
    const byConversation = new Map<string, DeadLetter[]>();
    for (const json of found) {
      if (json === null) continue;
      const letter = JSON.parse(json) as DeadLetter;
      const conversation = conversationOf(letter);
      byConversation.set(conversation, [...(byConversation.get(conversation) ?? []), letter]);
    }
    const conversations: string[] = [];
    let moved = 0;
    for (const [conversation, letters] of byConversation) {
      const tenant = letters[0]?.event.ref.tenant ?? '';
      // Pushed to the head newest first, so the oldest ends up in front.
      const pairs = [...letters]
        .reverse()
        .flatMap((letter) => [letter.event.id, JSON.stringify(letter.event)]);
      const count = Number(
        await REPLAY.run(
          this.redis,
          [
            this.key('dlq'),
            this.key('dlq-order'),
            this.inboxKey(conversation),
            this.key('pending'),
            this.key('active'),
            this.key('accepted'),
            this.key('tenant-pending'),
            this.tenantAcceptedKey(tenant),
          ],
          [Date.now(), conversation, tenant, ...pairs],
        ),
      );
      if (count > 0) {
        conversations.push(conversation);
        moved += count;
      }
    }
    return { conversations, moved };
  }

  async pending(): Promise<number> {
    return Number((await this.redis.get(this.key('pending'))) ?? 0);
  }

  async oldestPendingAgeMs(): Promise<number> {
    return Number(await OLDEST_AGE.run(this.redis, [this.key('accepted')], []));
  }

  /**
   * Conversations that still hold events but made no progress since `before`, re-marked as of now so
   * the next sweep leaves them alone for a while (a kick that two replicas send at once is one job id).
   */
  async claimStale(before: number, limit: number): Promise<string[]> {
    const stale = await this.redis.zrangebyscore(this.key('active'), '-inf', before, 'LIMIT', 0, limit);
    if (stale.length === 0) return [];
    const now = Date.now();
    await this.redis.zadd(this.key('active'), 'XX', ...stale.flatMap((conversation) => [now, conversation]));
    return stale;
  }
}
