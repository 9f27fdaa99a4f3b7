import { hashTag } from '../state/redis-client';

/**
 * Where the BullMQ bus keeps its Redis keys. A conversation's keys (inbox, lock, fence, the dedupe
 * record of each of its events) and the indexes its scripts update (pending counts, the set of
 * conversations with work, accept times, attempts, dead letters) live under one prefix, its shard's:
 *
 * - one server: one shard whose prefix is the bus's own (`hub:bus:hub-inbound`), the names the hub
 *   always used;
 * - Redis Cluster: `shards` shards, each prefix a hash tag (`{hub:bus:hub-inbound:7}`), so every key
 *   a script of one conversation names sits in one slot, and the shards spread over the masters.
 *   Readers of the whole bus (backlog gauges, the dead-letter listing, the sweep) ask every shard.
 *
 * A conversation's shard is a fixed hash of its key: change `redis.cluster.shards` only with the bus
 * drained, or what waits stays under the old shards.
 */
export class BusKeys {
  private readonly prefixes: string[];

  constructor(
    /** e.g. "hub:bus:hub-inbound". */
    readonly base: string,
    shards: number,
    cluster: boolean,
  ) {
    this.prefixes = cluster
      ? Array.from({ length: Math.max(1, shards) }, (_, n) => hashTag(`${base}:${n}`))
      : [base];
  }

  /** The prefix of the conversation's keys and of the indexes they go with. */
  of(conversation: string): string {
    return this.prefixes[this.prefixes.length === 1 ? 0 : fnv1a(conversation) % this.prefixes.length] ?? '';
  }

  /** Every shard's prefix, for readers of the whole bus. */
  all(): readonly string[] {
    return this.prefixes;
  }
}

/** 32-bit FNV-1a over the UTF-16 code units: stable across processes and releases, which the layout needs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
