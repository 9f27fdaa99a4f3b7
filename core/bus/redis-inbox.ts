import { LuaScript } from '../state/lua';
import type { RedisClient } from '../state/redis-client';
import type { DeadLetter, TenantBacklog } from '../types';
import type { BusKeys } from './keys';

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

type IndexName =
  | 'attempts'
  | 'outages'
  | 'retry-at'
  | 'pending'
  | 'active'
  | 'dlq'
  | 'dlq-order'
  | 'accepted'
  | 'tenant-pending';

/**
 * The Redis side of the BullMQ bus: per-conversation inboxes (lists, head first), attempt counts,
 * backoff deadlines, the dead-letter queue, and the set of conversations that still have events,
 * laid out by {@link BusKeys}: each conversation's scripts touch its shard's keys only.
 */
export class RedisInbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: BusKeys,
    private readonly fenceKeyOf: (conversation: string) => string,
  ) {}

  private inboxKey(conversation: string): string {
    return `${this.keys.of(conversation)}:inbox:${conversation}`;
  }

  /** An index of the shard `shard` (a prefix from BusKeys). */
  private key(shard: string, name: IndexName): string {
    return `${shard}:${name}`;
  }

  /** When each of a tenant's events not yet handled was accepted (a sorted set: oldest first). */
  private tenantAcceptedKey(shard: string, tenant: string): string {
    return `${shard}:tenant-accepted:${tenant}`;
  }

  async append(
    conversation: string,
    event: { id: string; ref: { tenant: string } },
    dedupeWindowMs: number,
  ): Promise<boolean> {
    const { tenant } = event.ref;
    const shard = this.keys.of(conversation);
    const result = await APPEND.run(
      this.redis,
      [
        `${shard}:dedupe:${event.id}`,
        this.inboxKey(conversation),
        this.key(shard, 'pending'),
        this.key(shard, 'active'),
        this.key(shard, 'accepted'),
        this.key(shard, 'tenant-pending'),
        this.tenantAcceptedKey(shard, tenant),
      ],
      [JSON.stringify(event), dedupeWindowMs, Date.now(), conversation, event.id, tenant],
    );
    return result === 1;
  }

  /** One tenant's events not yet handled, and how long the oldest of them has waited (every shard). */
  async tenantBacklog(tenant: string): Promise<TenantBacklog> {
    const perShard = await Promise.all(
      this.keys
        .all()
        .map(
          async (shard) =>
            (await TENANT_BACKLOG.run(
              this.redis,
              [this.key(shard, 'tenant-pending'), this.tenantAcceptedKey(shard, tenant)],
              [tenant],
            )) as [number, number],
        ),
    );
    let pending = 0;
    let oldestAgeMs = 0;
    for (const [count, age] of perShard) {
      pending += Math.max(0, Number(count));
      oldestAgeMs = Math.max(oldestAgeMs, Number(age));
    }
    return { pending, oldestAgeMs };
  }

  /** Every tenant with events not yet handled; one read per such tenant (scrape time only). */
  async tenantBacklogs(): Promise<Map<string, TenantBacklog>> {
    const tenants = new Set<string>();
    for (const shard of this.keys.all()) {
      for (const tenant of Object.keys(await this.redis.hgetall(this.key(shard, 'tenant-pending')))) {
        tenants.add(tenant);
      }
    }
    const backlogs = new Map<string, TenantBacklog>();
    for (const tenant of tenants) backlogs.set(tenant, await this.tenantBacklog(tenant));
    return backlogs;
  }

  /** Whether the event is still waiting or running (accepted, not yet handled nor dead-lettered). */
  async isPending(eventId: string, conversation: string, tenant: string): Promise<boolean> {
    const shard = this.keys.of(conversation);
    return (await this.redis.zscore(this.tenantAcceptedKey(shard, tenant), eventId)) !== null;
  }

  head(conversation: string): Promise<string | null> {
    return this.redis.lindex(this.inboxKey(conversation), 0);
  }

  async isEmpty(conversation: string): Promise<boolean> {
    return (await this.redis.llen(this.inboxKey(conversation))) === 0;
  }

  async beginAttempt(conversation: string, eventId: string): Promise<AttemptStart> {
    const shard = this.keys.of(conversation);
    const [attempt, retryAt, outages] = (await BEGIN_ATTEMPT.run(
      this.redis,
      [this.key(shard, 'attempts'), this.key(shard, 'retry-at'), this.key(shard, 'outages')],
      [eventId, Date.now()],
    )) as [number, number?, number?];
    return attempt > 0 ? { attempt, outages: outages ?? 0 } : { retryAt: retryAt ?? 0 };
  }

  /** Give back the attempt a dependency's outage spoilt; returns the outages in a row so far. */
  async refundAttempt(conversation: string, eventId: string): Promise<number> {
    const shard = this.keys.of(conversation);
    return (await REFUND_ATTEMPT.run(
      this.redis,
      [this.key(shard, 'attempts'), this.key(shard, 'outages')],
      [eventId],
    )) as number;
  }

  async scheduleRetry(conversation: string, eventId: string, retryAt: number): Promise<void> {
    await this.redis.hset(this.key(this.keys.of(conversation), 'retry-at'), eventId, retryAt);
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
    const shard = this.keys.of(conversation);
    const keys = [
      this.fenceKeyOf(conversation),
      this.inboxKey(conversation),
      this.key(shard, 'attempts'),
      this.key(shard, 'retry-at'),
      this.key(shard, 'pending'),
      this.key(shard, 'active'),
      this.key(shard, 'dlq'),
      this.key(shard, 'dlq-order'),
      this.key(shard, 'outages'),
      this.key(shard, 'accepted'),
      this.key(shard, 'tenant-pending'),
      this.tenantAcceptedKey(shard, event.ref.tenant),
    ];
    const letter = deadLetter ? JSON.stringify(deadLetter) : '';
    const args = [token, raw, eventId, Date.now(), conversation, letter, event.ref.tenant];
    return (await REMOVE_HEAD.run(this.redis, keys, args)) === 1;
  }

  /** The oldest `limit` dead letters, in the order they failed, over every shard. */
  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const order = (await this.deadLetterOrder(limit)).slice(0, limit);
    const byId = await this.lettersOf(order);
    return order.flatMap(({ id }) => byId.get(id) ?? []);
  }

  /** The dead letters of these entries, by event id (one read per shard). */
  private async lettersOf(entries: Array<{ id: string; shard: string }>): Promise<Map<string, DeadLetter>> {
    const byId = new Map<string, DeadLetter>();
    for (const [shard, ids] of groupByShard(entries)) {
      const found = await this.redis.hmget(this.key(shard, 'dlq'), ...ids);
      found.forEach((json, i) => {
        if (json !== null) byId.set(ids[i] as string, JSON.parse(json) as DeadLetter);
      });
    }
    return byId;
  }

  async deadLetterIds(): Promise<string[]> {
    return (await this.deadLetterOrder(-1)).map((entry) => entry.id);
  }

  /** Dead-letter ids with their shard, oldest failure first: each shard's order merged by its clock score. */
  private async deadLetterOrder(limit: number): Promise<Array<{ id: string; shard: string; score: number }>> {
    const entries: Array<{ id: string; shard: string; score: number }> = [];
    for (const shard of this.keys.all()) {
      const flat = await this.redis.zrange(
        this.key(shard, 'dlq-order'),
        0,
        limit < 0 ? -1 : limit - 1,
        'WITHSCORES',
      );
      for (let i = 0; i + 1 < flat.length; i += 2) {
        entries.push({ id: flat[i] as string, shard, score: Number(flat[i + 1]) });
      }
    }
    return entries.sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
    const wanted = new Set(eventIds);
    // Each letter's shard from the dead-letter order, oldest failure first.
    const order = (await this.deadLetterOrder(-1)).filter((entry) => wanted.has(entry.id));
    const byId = await this.lettersOf(order);
    // Grouped by conversation (a Map keeps the first-seen order).
    const byConversation = new Map<string, DeadLetter[]>();
    for (const { id } of order) {
      const letter = byId.get(id);
      if (!letter) continue;
      const conversation = conversationOf(letter);
      byConversation.set(conversation, [...(byConversation.get(conversation) ?? []), letter]);
    }
    const conversations: string[] = [];
    let moved = 0;
    for (const [conversation, letters] of byConversation) {
      const tenant = letters[0]?.event.ref.tenant ?? '';
      const shard = this.keys.of(conversation);
      // Pushed to the head newest first, so the oldest ends up in front.
      const pairs = [...letters]
        .reverse()
        .flatMap((letter) => [letter.event.id, JSON.stringify(letter.event)]);
      const count = Number(
        await REPLAY.run(
          this.redis,
          [
            this.key(shard, 'dlq'),
            this.key(shard, 'dlq-order'),
            this.inboxKey(conversation),
            this.key(shard, 'pending'),
            this.key(shard, 'active'),
            this.key(shard, 'accepted'),
            this.key(shard, 'tenant-pending'),
            this.tenantAcceptedKey(shard, tenant),
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
    const counts = await Promise.all(
      this.keys.all().map(async (shard) => Number((await this.redis.get(this.key(shard, 'pending'))) ?? 0)),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async oldestPendingAgeMs(): Promise<number> {
    const ages = await Promise.all(
      this.keys
        .all()
        .map(async (shard) => Number(await OLDEST_AGE.run(this.redis, [this.key(shard, 'accepted')], []))),
    );
    return Math.max(0, ...ages);
  }

  /**
   * Conversations that still hold events but made no progress since `before`, re-marked as of now so
   * the next sweep leaves them alone for a while (a kick that two replicas send at once is one job id).
   */
  async claimStale(before: number, limit: number): Promise<string[]> {
    const claimed: string[] = [];
    for (const shard of this.keys.all()) {
      if (claimed.length >= limit) break;
      const active = this.key(shard, 'active');
      const stale = await this.redis.zrangebyscore(
        active,
        '-inf',
        before,
        'LIMIT',
        0,
        limit - claimed.length,
      );
      if (stale.length === 0) continue;
      const now = Date.now();
      await this.redis.zadd(active, 'XX', ...stale.flatMap((conversation) => [now, conversation]));
      claimed.push(...stale);
    }
    return claimed;
  }
}

/** Ids per shard, keeping each shard's order. */
function groupByShard(entries: Array<{ id: string; shard: string }>): Map<string, string[]> {
  const byShard = new Map<string, string[]>();
  for (const { id, shard } of entries) byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
  return byShard;
}
