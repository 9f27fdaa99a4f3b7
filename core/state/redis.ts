import type { Redis } from 'ioredis';
import type { AtRest } from '../privacy/at-rest';
import type { DialogState, StateStore } from '../types';
import { HubError } from '../types/errors';
import { fenced } from './fenced';
import { LuaScript } from './lua';

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
redis.call('DEL', KEYS[3])
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
 * expiring `ttlMs` after the last save.
 */
export class RedisStateStore implements StateStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStateStoreOptions,
  ) {}

  stateKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state:${this.hashed(conversationKey)}`;
  }

  fenceKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state-fence:${this.hashed(conversationKey)}`;
  }

  /** Where the state was kept before it was sealed; read once, deleted by the next save. */
  private clearKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state:${conversationKey}`;
  }

  private hashed(conversationKey: string): string {
    return this.options.atRest.lookup('conversation', conversationKey);
  }

  async load(conversationKey: string): Promise<DialogState | undefined> {
    const sealed = await this.redis.get(this.stateKey(conversationKey));
    if (sealed === null) {
      const clear = await this.redis.get(this.clearKey(conversationKey));
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
      [this.stateKey(key), this.fenceKey(key), this.clearKey(key)],
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
    await this.redis.del(this.stateKey(conversationKey), this.clearKey(conversationKey));
  }

  async close(): Promise<void> {
    if (this.options.ownsConnection) await this.redis.quit();
  }
}

const where = (conversationKey: string) => ({ table: 'redis', column: 'state', row: conversationKey });
