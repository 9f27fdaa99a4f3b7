import type { Redis } from 'ioredis';
import type { DialogState, StateStore } from '../types';
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
return false
`);

export interface RedisStateStoreOptions {
  ttlMs: number;
  /** Namespace of every key, e.g. "hub". */
  keyPrefix: string;
  /** Quit the connection on close (true when the factory opened it for this store). */
  ownsConnection?: boolean;
}

/** Dialog state as JSON in Redis, one key per conversation, expiring `ttlMs` after the last save. */
export class RedisStateStore implements StateStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStateStoreOptions,
  ) {}

  stateKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state:${conversationKey}`;
  }

  fenceKey(conversationKey: string): string {
    return `${this.options.keyPrefix}:state-fence:${conversationKey}`;
  }

  async load(conversationKey: string): Promise<DialogState | undefined> {
    const json = await this.redis.get(this.stateKey(conversationKey));
    return json === null ? undefined : (JSON.parse(json) as DialogState);
  }

  async save(state: DialogState, options: { fencingToken?: number } = {}): Promise<void> {
    const key = state.conversationKey;
    const token = options.fencingToken;
    const highest = await SAVE.run(
      this.redis,
      [this.stateKey(key), this.fenceKey(key)],
      [JSON.stringify(state), this.options.ttlMs, token === undefined ? '' : String(token)],
    );
    if (typeof highest === 'string') throw fenced(key, token ?? 0, highest);
  }

  /** The fence record stays, so a stale writer cannot resurrect a deleted conversation. */
  async delete(conversationKey: string): Promise<void> {
    await this.redis.del(this.stateKey(conversationKey));
  }

  async close(): Promise<void> {
    if (this.options.ownsConnection) await this.redis.quit();
  }
}
