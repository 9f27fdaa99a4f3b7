import type { AtRest } from '../privacy/at-rest';
import type { DialogState, StateStore } from '../types';
import { HubError } from '../types/errors';
import { fenced } from './fenced';
import { LuaScript } from './lua';
import { hashTag, isCluster, type RedisClient } from './redis-client';

/**
 * Save state and keep the highest fencing token seen for the conversation, in one step: a check in
 * the client followed by a write would let a stalled worker slip its stale state in between.
 * KEYS[3], when given, is a copy from before sealing that the last load read: dropped once.
 * Returns the highest token when the write is refused.
 */
const SAVE = new LuaScript(`
local token = ARGV[3]
if token ~= '' then
  local highest = redis.call('GET', KEYS[2])
  if highest and tonumber(token) < tonumber(highest) then return highest end
  redis.call('SET', KEYS[2], token, 'PX', ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if KEYS[3] then redis.call('DEL', KEYS[3]) end
return false
`);

/**
 * What a bus on the same Redis needs to read and write the store's states in its own scripts (see
 * TurnCommit): the key of each conversation's state, in the slot of the bus's keys for it.
 */
export interface RedisStateBinding {
  /** The store's connection: the bus checks it speaks to the same server or cluster as its own. */
  readonly redis: RedisClient;
  readonly ttlMs: number;
  stateKey(conversationKey: string): string;
  /**
   * One server: where the state was kept before it was sealed, which a script reads when the state
   * key is empty (and the save after drops). A cluster has none.
   */
  clearKey(conversationKey: string): string | undefined;
  seal(state: DialogState): string;
  /** The state from the state key's value, or from the clear copy's (`clear`). */
  open(conversationKey: string, value: string, clear: boolean): DialogState | undefined;
  /**
   * A cluster's state from before it moved into the bus's slot, read once when the state key is
   * empty (its first turn since); undefined on one server and when there is none.
   */
  loadMoved(conversationKey: string): Promise<DialogState | undefined>;
}

export interface RedisStateStoreOptions {
  ttlMs: number;
  /** Namespace of every key, e.g. "hub". */
  keyPrefix: string;
  /** Quit the connection on close (true when the factory opened it for this store). */
  ownsConnection?: boolean;
  /**
   * Seals each state (slots, history: what the customer wrote) like the database's records, and
   * hashes the conversation key in key names, which names the customer on some platforms.
   */
  atRest: AtRest;
  /**
   * Redis Cluster: the hash-tagged prefix of the bus's keys for a conversation (BusKeys.of). Each
   * state key then sits in its conversation's bus slot, so the bus's scripts may read and write it
   * (the state that was kept under the key's own hash tag before is read once, when the new key is
   * still empty). Without it a state key carries its own hash tag.
   */
  slotOf?: (conversationKey: string) => string;
}

/**
 * Dialog state as sealed JSON in Redis, one key per conversation (named by the key's hash),
 * expiring `ttlMs` after the last save. In a Redis Cluster the key sits in the slot of the bus's keys
 * for the conversation (`slotOf`), so the bus can commit a turn's state in the script that settles
 * its event; the fence record carries the same tag, which the save script needs.
 */
export class RedisStateStore implements StateStore {
  private readonly cluster: boolean;
  /** Conversations whose last load read the copy from before sealing: their next save drops it. */
  private readonly clearCopies = new Set<string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisStateStoreOptions,
  ) {
    this.cluster = isCluster(redis);
  }

  stateKey(conversationKey: string): string {
    return this.keyOf('state', conversationKey);
  }

  fenceKey(conversationKey: string): string {
    return this.keyOf('state-fence', conversationKey);
  }

  /** In a cluster with `slotOf`, in the conversation's bus slot; else under the store's prefix. */
  private keyOf(kind: 'state' | 'state-fence', conversationKey: string): string {
    const { slotOf, keyPrefix } = this.options;
    if (this.cluster && slotOf) return `${slotOf(conversationKey)}:${kind}:${this.hashed(conversationKey)}`;
    return `${keyPrefix}:${kind}:${this.named(conversationKey)}`;
  }

  /**
   * Where the state was kept before it was sealed; read when the sealed key is empty, dropped by the
   * next save. A cluster has none (states were sealed before the hub spoke to clusters), so no key
   * of another slot.
   */
  private clearKey(conversationKey: string): string | undefined {
    return this.cluster ? undefined : `${this.options.keyPrefix}:state:${conversationKey}`;
  }

  /** A cluster's state key from before it moved into the bus's slot (its own hash tag). */
  private movedKey(conversationKey: string): string | undefined {
    return this.cluster && this.options.slotOf
      ? `${this.options.keyPrefix}:state:${this.named(conversationKey)}`
      : undefined;
  }

  private named(conversationKey: string): string {
    const hashed = this.hashed(conversationKey);
    return this.cluster ? hashTag(hashed) : hashed;
  }

  private hashed(conversationKey: string): string {
    return this.options.atRest.lookup('conversation', conversationKey);
  }

  /** For a bus on the same Redis that commits turns itself (BullmqBus with ConsumeOptions.commit). */
  binding(): RedisStateBinding {
    return {
      redis: this.redis,
      ttlMs: this.options.ttlMs,
      stateKey: (key) => this.stateKey(key),
      clearKey: (key) => this.clearKey(key),
      seal: (state) => this.seal(state),
      open: (key, value, clear) => (clear ? (JSON.parse(value) as DialogState) : this.open(key, value)),
      loadMoved: (key) => this.loadMoved(key),
    };
  }

  async load(conversationKey: string): Promise<DialogState | undefined> {
    const sealed = await this.redis.get(this.stateKey(conversationKey));
    if (sealed !== null) return this.open(conversationKey, sealed);
    const moved = await this.loadMoved(conversationKey);
    if (moved) return moved;
    const clearKey = this.clearKey(conversationKey);
    if (clearKey === undefined) return undefined;
    const clear = await this.redis.get(clearKey);
    if (clear === null) return undefined;
    this.clearCopies.add(conversationKey);
    return JSON.parse(clear) as DialogState;
  }

  private async loadMoved(conversationKey: string): Promise<DialogState | undefined> {
    const movedKey = this.movedKey(conversationKey);
    if (movedKey === undefined) return undefined;
    const sealed = await this.redis.get(movedKey);
    return sealed === null ? undefined : this.open(conversationKey, sealed);
  }

  private open(conversationKey: string, sealed: string): DialogState | undefined {
    try {
      return JSON.parse(this.options.atRest.open(sealed, where(conversationKey))) as DialogState;
    } catch (error) {
      // Sealed under a key the hub no longer holds (dropped after a rotation before the state
      // expired): the conversation starts afresh rather than failing every turn.
      if (error instanceof HubError && error.code === 'at_rest.unknown_key') return undefined;
      throw error;
    }
  }

  private seal(state: DialogState): string {
    return this.options.atRest.seal(JSON.stringify(state), where(state.conversationKey));
  }

  async save(state: DialogState, options: { fencingToken?: number } = {}): Promise<void> {
    const key = state.conversationKey;
    const token = options.fencingToken;
    const clearKey = this.clearCopies.has(key) ? this.clearKey(key) : undefined;
    const highest = await SAVE.run(
      this.redis,
      [this.stateKey(key), this.fenceKey(key), ...optional(clearKey)],
      [this.seal(state), this.options.ttlMs, token === undefined ? '' : String(token)],
    );
    if (typeof highest === 'string') throw fenced(key, token ?? 0, highest);
    this.clearCopies.delete(key);
  }

  /** The fence record stays, so a stale writer cannot resurrect a deleted conversation. */
  async delete(conversationKey: string): Promise<void> {
    this.clearCopies.delete(conversationKey);
    // One DEL per key: in a cluster the moved-from key sits in another slot.
    for (const key of [
      this.stateKey(conversationKey),
      ...optional(this.clearKey(conversationKey)),
      ...optional(this.movedKey(conversationKey)),
    ]) {
      await this.redis.del(key);
    }
  }

  async close(): Promise<void> {
    if (this.options.ownsConnection) await this.redis.quit();
  }
}

const optional = (key: string | undefined): string[] => (key === undefined ? [] : [key]);

const where = (conversationKey: string) => ({ table: 'redis', column: 'state', row: conversationKey });
