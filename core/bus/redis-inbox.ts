import { LuaScript } from '../state/lua';
import type { RedisClient } from '../state/redis-client';
import type { DeadLetter, TenantBacklog } from '../types';
import type { BusKeys } from './keys';

/** Redis's own clock in ms: one clock for every process's "accepted at" and "now". */
const REDIS_NOW_MS = `local clock = redis.call('TIME')
local nowMs = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * Accept an event: claim its id for the dedupe window, append it to its conversation's inbox, count
 * it pending for its tenant and note when it was accepted. One script, so a duplicate can never be
 * half-accepted. The bus's total backlog is the sum of the tenants' (read at scrape time).
 * Returns 0 for a duplicate, 2 when the inbox was empty (the conversation became ready: the caller
 * adds a job), 1 otherwise: a drain holds or will take the conversation, and a drain goes on until
 * the inbox is empty (END_TURN hands it the next head or releases the lock only on an empty inbox).
 * KEYS: dedupe, inbox, active, tenant-pending, tenant's accepted.
 * ARGV: event JSON, window ms, now ms, conversation key, event id, tenant.
 */
const APPEND = new LuaScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end
local length = redis.call('RPUSH', KEYS[2], ARGV[1])
${REDIS_NOW_MS}
redis.call('HINCRBY', KEYS[4], ARGV[6], 1)
redis.call('ZADD', KEYS[5], nowMs, ARGV[5])
if length > 1 then return 1 end
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[4])
return 2
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

/**
 * A shard's backlog, summed over its tenants at scrape time: events not yet handled, and the age in
 * ms of the oldest. KEYS: tenant-pending. ARGV: the prefix of the tenants' accepted sets.
 */
const SHARD_BACKLOG = new LuaScript(`
local counts = redis.call('HGETALL', KEYS[1])
local pending = 0
local oldestMs = false
for i = 1, #counts, 2 do
  pending = pending + math.max(0, tonumber(counts[i + 1]))
  local oldest = redis.call('ZRANGE', ARGV[1] .. counts[i], 0, 0, 'WITHSCORES')
  if #oldest > 0 and (not oldestMs or tonumber(oldest[2]) < oldestMs) then oldestMs = tonumber(oldest[2]) end
end
if not oldestMs then return {pending, 0} end
${REDIS_NOW_MS}
return {pending, math.max(0, nowMs - oldestMs)}
`);

/**
 * Start a drain: take the conversation lock, and with it the next fencing token, read the head and
 * start an attempt on it (refused while it backs off), and the conversation's dialog state when the
 * bus commits turns (KEYS 7, and 8: a copy from before sealing, read when 7 is empty). The attempt
 * count lives in Redis so a crash mid-handler still uses up an attempt (a poison event that kills
 * workers ends in the dead-letter queue instead of looping). The token is the fence counter plus one
 * (INCR keeps the key's expiry); a counter that expired starts again from the Redis clock in
 * microseconds, above any token issued before it (as RedisLockManager's ACQUIRE seeds it), so one
 * command issues a token. The lock is let go at once when there is nothing to run.
 * KEYS: lock, fence, inbox, attempts, retry-at, outages, [state, [clear state]].
 * ARGV: owner, lock TTL ms, fence memory ms, now ms.
 * Returns {0, inbox length} (lock busy), {1} (inbox empty), {2, retryAt} (the head backs off), or
 * {3, token, head, attempt, outages, state or '', 1 when the state is the clear copy}.
 */
const START_DRAIN = new LuaScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, redis.call('LLEN', KEYS[3])}
end
local head = redis.call('LINDEX', KEYS[3], 0)
if not head then
  redis.call('DEL', KEYS[1])
  return {1}
end
local id = cjson.decode(head)['id']
local retryAt = tonumber(redis.call('HGET', KEYS[5], id) or '0')
if retryAt > tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
  return {2, retryAt}
end
local token = redis.call('INCR', KEYS[2])
if token == 1 then
  local now = redis.call('TIME')
  token = tonumber(now[1]) * 1000000 + tonumber(now[2])
  redis.call('SET', KEYS[2], string.format('%.0f', token), 'PX', ARGV[3])
end
token = string.format('%.0f', token)
local attempt = redis.call('HINCRBY', KEYS[4], id, 1)
local outages = tonumber(redis.call('HGET', KEYS[6], id) or '0')
local state = ''
local clear = 0
if KEYS[7] then
  state = redis.call('GET', KEYS[7])
  if not state and KEYS[8] then
    state = redis.call('GET', KEYS[8])
    if state then clear = 1 end
  end
end
return {3, token, head, attempt, outages, state or '', clear}
`);

/**
 * End a turn: settle the head, only while no newer lock holder exists (the fence still equals our
 * token; a holder whose lease lapsed while nobody took over may still finish, one that was overtaken
 * leaves the head, the state and the feed to its successor and commits nothing). Settling removes
 * the event by value (a dead letter replayed meanwhile may stand in front of it), clears its
 * bookkeeping, dead-letters it when asked (ordered by Redis's clock in microseconds, so one
 * conversation's letters keep their order whichever worker wrote them), saves the turn's dialog
 * state and publishes its feed messages. Then, when the drain goes on, the next head with its
 * attempt started (the lock renewed), else the lock goes: a publisher that found the inbox not empty
 * relies on exactly this. Every taking of the lock issues a new token, so while the fence equals
 * ours the lock key is ours or lapsed unclaimed: it is renewed or deleted without reading it first.
 * The tenant's count goes down only for an event it counted.
 * KEYS: fence, inbox, attempts, retry-at, outages, tenant-pending, tenant's accepted, active, dlq,
 * dlq-order, lock, [state, [clear state to drop]].
 * ARGV: token, raw event, event id, now ms, conversation key, dead letter JSON or '', tenant, owner,
 * lock TTL ms, '1' to go on with the next head, state or '', state TTL ms, feed channel, messages...
 * Returns {0} (not ours), {1, head, attempt, outages} (the next event), {2, retryAt} (the next head
 * backs off; the lock is released) or {3} (released: inbox empty, or not going on).
 */
const END_TURN = new LuaScript(`
if tonumber(redis.call('GET', KEYS[1]) or '-1') ~= tonumber(ARGV[1]) then return {0} end
if redis.call('LREM', KEYS[2], 1, ARGV[2]) == 0 then return {0} end
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[3])
if redis.call('ZREM', KEYS[7], ARGV[3]) == 1 then
  if redis.call('HINCRBY', KEYS[6], ARGV[7], -1) <= 0 then redis.call('HDEL', KEYS[6], ARGV[7]) end
end
if ARGV[6] ~= '' then
  local time = redis.call('TIME')
  redis.call('HSET', KEYS[9], ARGV[3], ARGV[6])
  redis.call('ZADD', KEYS[10], time[1] .. string.format('%06d', time[2]), ARGV[3])
end
if ARGV[11] ~= '' then
  redis.call('SET', KEYS[12], ARGV[11], 'PX', ARGV[12])
  if KEYS[13] then redis.call('DEL', KEYS[13]) end
end
for i = 14, #ARGV do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
local head = false
if ARGV[10] == '1' then head = redis.call('LINDEX', KEYS[2], 0) end
if head then
  redis.call('ZADD', KEYS[8], ARGV[4], ARGV[5])
  local id = cjson.decode(head)['id']
  local retryAt = tonumber(redis.call('HGET', KEYS[4], id) or '0')
  if retryAt <= tonumber(ARGV[4]) then
    redis.call('SET', KEYS[11], ARGV[8], 'PX', ARGV[9])
    local attempt = redis.call('HINCRBY', KEYS[3], id, 1)
    return {1, head, attempt, tonumber(redis.call('HGET', KEYS[5], id) or '0')}
  end
  redis.call('DEL', KEYS[11])
  return {2, retryAt}
end
if ARGV[10] == '1' or redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[8], ARGV[5])
else
  redis.call('ZADD', KEYS[8], ARGV[4], ARGV[5])
end
redis.call('DEL', KEYS[11])
return {3}
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
 * Move one conversation's dead letters back to the head of its inbox, before the newer events there,
 * in one step: a drain that starts meanwhile sees all of them or none, so they keep their order. They
 * count as accepted again now.
 * KEYS: dlq, dlq-order, inbox, active, tenant-pending, tenant's accepted.
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
    if redis.call('ZADD', KEYS[6], nowMs, id) == 1 then redis.call('HINCRBY', KEYS[5], ARGV[3], 1) end
    moved = moved + 1
  end
end
if moved > 0 then redis.call('ZADD', KEYS[4], 'NX', ARGV[1], ARGV[2]) end
return moved
`);

/** `attempt` counts against maxAttempts; `outages` are the failures in a row a dependency caused. */
export interface AttemptStart {
  raw: string;
  attempt: number;
  outages: number;
}

/** Where a drain's state is read and written, when the bus commits turns (see RedisStateBinding). */
export interface StateKeys {
  state: string;
  /** The copy from before sealing: read when `state` is empty, dropped by the save after. */
  clear?: string;
}

export type DrainStart =
  | { busy: true; empty: boolean }
  | { empty: true }
  | { retryAt: number }
  | (AttemptStart & { token: number; state?: { value: string; clear: boolean } });

/** What a turn commits with its event's settlement. */
export interface TurnEnd {
  token: number;
  raw: string;
  event: { id: string; ref: { tenant: string } };
  /** The lock's owner: it is renewed for the next head or released. */
  owner: string;
  lockTtlMs: number;
  /** Go on with the next head (false: release the lock whatever remains). */
  goOn: boolean;
  deadLetter?: DeadLetter;
  state?: { keys: StateKeys; value: string; ttlMs: number; dropClear: boolean };
  feed?: { channel: string; messages: string[] };
}

export type TurnEndResult =
  | { settled: false }
  | ({ settled: true } & ({ next: AttemptStart } | { retryAt: number } | { released: true }));

type IndexName = 'attempts' | 'outages' | 'retry-at' | 'active' | 'dlq' | 'dlq-order' | 'tenant-pending';

/**
 * The Redis side of the BullMQ bus: per-conversation inboxes (lists, head first), attempt counts,
 * backoff deadlines, the dead-letter queue, and the set of conversations that still have events,
 * laid out by {@link BusKeys}: each conversation's scripts touch its shard's keys only.
 */
export class RedisInbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: BusKeys,
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

  /** 'duplicate': refused; 'ready': the inbox was empty (a job must run it); 'queued': behind others. */
  async append(
    conversation: string,
    event: { id: string; ref: { tenant: string } },
    dedupeWindowMs: number,
  ): Promise<'duplicate' | 'ready' | 'queued'> {
    const { tenant } = event.ref;
    const shard = this.keys.of(conversation);
    const result = await APPEND.run(
      this.redis,
      [
        `${shard}:dedupe:${event.id}`,
        this.inboxKey(conversation),
        this.key(shard, 'active'),
        this.key(shard, 'tenant-pending'),
        this.tenantAcceptedKey(shard, tenant),
      ],
      [JSON.stringify(event), dedupeWindowMs, Date.now(), conversation, event.id, tenant],
    );
    return result === 0 ? 'duplicate' : result === 2 ? 'ready' : 'queued';
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

  /** Take the lock and the head with its attempt started, and the state when `state` says where it is. */
  async startDrain(
    conversation: string,
    lock: { key: string; fence: string; owner: string; ttlMs: number; fenceMemoryMs: number },
    state?: StateKeys,
  ): Promise<DrainStart> {
    const shard = this.keys.of(conversation);
    const keys = [
      lock.key,
      lock.fence,
      this.inboxKey(conversation),
      this.key(shard, 'attempts'),
      this.key(shard, 'retry-at'),
      this.key(shard, 'outages'),
    ];
    if (state) keys.push(state.state, ...optional(state.clear));
    const reply = (await START_DRAIN.run(this.redis, keys, [
      lock.owner,
      lock.ttlMs,
      lock.fenceMemoryMs,
      Date.now(),
    ])) as unknown[];
    switch (Number(reply[0])) {
      case 0:
        return { busy: true, empty: Number(reply[1]) === 0 };
      case 1:
        return { empty: true };
      case 2:
        return { retryAt: Number(reply[1]) };
      default: {
        const [, token, raw, attempt, outages, value, clear] = reply;
        return {
          token: Number(token),
          raw: String(raw),
          attempt: Number(attempt),
          outages: Number(outages),
          ...(state && value !== '' ? { state: { value: String(value), clear: Number(clear) === 1 } } : {}),
        };
      }
    }
  }

  /**
   * Settle the head with what the turn commits, then the next head or the lock's release. Not
   * settled when a newer lock holder exists: the head is theirs now.
   */
  async endTurn(
    conversation: string,
    lockKey: string,
    fenceKey: string,
    end: TurnEnd,
  ): Promise<TurnEndResult> {
    const shard = this.keys.of(conversation);
    const keys = [
      fenceKey,
      this.inboxKey(conversation),
      this.key(shard, 'attempts'),
      this.key(shard, 'retry-at'),
      this.key(shard, 'outages'),
      this.key(shard, 'tenant-pending'),
      this.tenantAcceptedKey(shard, end.event.ref.tenant),
      this.key(shard, 'active'),
      this.key(shard, 'dlq'),
      this.key(shard, 'dlq-order'),
      lockKey,
    ];
    if (end.state) {
      keys.push(end.state.keys.state);
      if (end.state.dropClear && end.state.keys.clear) keys.push(end.state.keys.clear);
    }
    const args: Array<string | number> = [
      end.token,
      end.raw,
      end.event.id,
      Date.now(),
      conversation,
      end.deadLetter ? JSON.stringify(end.deadLetter) : '',
      end.event.ref.tenant,
      end.owner,
      end.lockTtlMs,
      end.goOn ? '1' : '0',
      end.state?.value ?? '',
      end.state?.ttlMs ?? 0,
      end.feed?.channel ?? '',
      ...(end.feed?.messages ?? []),
    ];
    const reply = (await END_TURN.run(this.redis, keys, args)) as unknown[];
    switch (Number(reply[0])) {
      case 0:
        return { settled: false };
      case 1:
        return {
          settled: true,
          next: { raw: String(reply[1]), attempt: Number(reply[2]), outages: Number(reply[3]) },
        };
      case 2:
        return { settled: true, retryAt: Number(reply[1]) };
      default:
        return { settled: true, released: true };
    }
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
            this.key(shard, 'active'),
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

  /** Events not yet handled over every shard, and the age in ms of the oldest: the tenants' summed. */
  async backlog(): Promise<TenantBacklog> {
    const perShard = await Promise.all(
      this.keys
        .all()
        .map(
          async (shard) =>
            (await SHARD_BACKLOG.run(
              this.redis,
              [this.key(shard, 'tenant-pending')],
              [`${shard}:tenant-accepted:`],
            )) as [number, number],
        ),
    );
    let pending = 0;
    let oldestAgeMs = 0;
    for (const [count, age] of perShard) {
      pending += Number(count);
      oldestAgeMs = Math.max(oldestAgeMs, Number(age));
    }
    return { pending, oldestAgeMs };
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

const optional = (key: string | undefined): string[] => (key === undefined ? [] : [key]);

/** Ids per shard, keeping each shard's order. */
function groupByShard(entries: Array<{ id: string; shard: string }>): Map<string, string[]> {
  const byShard = new Map<string, string[]>();
  for (const { id, shard } of entries) byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
  return byShard;
}
