import type { AtRest } from '../privacy/at-rest';
import type { DialogState, StateStore } from '../types';
import { HubError } from '../types/errors';
import { fenced } from './fenced';
import { LuaScript } from './lua';
import { hashTag, isCluster, type RedisClient } from './redis-client';

/**
 * Save state and keep the highest fencing token seen for the conversation, in one step: a check in
 * the client followed by a write would let a stalled worker slip its stale state in between.
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
}

/**
 * Dialog state as sealed JSON in Redis, one key per conversation (named by the key's hash),
 * expiring `ttlMs` after the last save. In a Redis Cluster the hash is a hash tag, so a
 * conversation's state and fence share the slot the save script needs.
 */
export class RedisStateStore implements StateStore {
  private readonly cluster: boolean;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisStateStoreOptions,
  ) {
    this.cluster = isCluster(redis);
  }

  stateKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state:${this.named(conversationKey)}`;
  }

  fenceKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state-fence:${this.named(conversationKey)}`;
  }

  /**
   * Where the state was kept before it was sealed; read once, deleted by the next save. A cluster
   * has none (states were sealed before the hub spoke to clusters), so no key of another slot.
   */
  private clearKey(conversationKey: string): string | undefined {
    return this.cluster ? undefined : `${this.options.keyPrefix}:state:${conversationKey}`;
  }

  private named(conversationKey: string): string {
    const hashed = this.hashed(conversationKey);
    return this.cluster ? hashTag(hashed) : hashed;
  }

  private hashed(conversationKey: string): string {
    return this.options.atRest.lookup('conversation', conversationKey);
  }

  async load(conversationKey: string): Promise<DialogState | undefined> {
    const sealed = await this.redis.get(this.stateKey(conversationKey));
    const clearKey = this.clearKey(conversationKey);
    if (sealed === null) {
      if (clearKey === undefined) return undefined;
      const clear = await this.redis.get(clearKey);
      return clear === null ? undefined : (JSON.parse(clear) as DialogState);
    }
    try {
      return JSON.parse(this.options.atRest.open(sealed, where(conversationKey))) as DialogState;
    } catch (error) {
      // Sealed under a key the hub no longer holds (dropped after a rotation before the state
      // expired): the conversation starts afresh rather than failing every turn.
      if (error instanceof HubError && error.code === 'at_rest.unknown_key') return undefined;
      throw error;
    }
  }

  async save(state: DialogState, options: { fencingToken?: number } = {}): Promise<void> {
    const key = state.conversationKey;
    const token = options.fencingToken;
    const highest = await SAVE.run(
      this.redis,
      [this.stateKey(key), this.fenceKey(key), ...optional(this.clearKey(key))],
      [
        this.options.atRest.seal(JSON.stringify(state), where(key)),
        this.options.ttlMs,
        token === undefined ? '' : String(token),
      ],
    );
    if (typeof highest === 'string') throw fenced(key, token ?? 0, highest);
  }

  /** The fence record stays, so a stale writer cannot resurrect a deleted conversation. */
  async delete(conversationKey: string): Promise<void> {
    const clearKey = this.clearKey(conversationKey);
    await this.redis.del(this.stateKey(conversationKey), ...optional(clearKey));
  }

  async close(): Promise<void> {
    if (this.options.ownsConnection) await this.redis.quit();
  }
}

const optional = (key: string | undefined): string[] => (key === undefined ? [] : [key]);

const where = (conversationKey: string) => ({ table: 'redis', column: 'state', row: conversationKey });
