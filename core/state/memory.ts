import type { ConversationLock, DialogState, LockManager, StateStore } from '../types';
import { fenced } from './fenced';
import { MonotonicTokens } from './tokens';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export interface MemoryStateStoreOptions {
  ttlMs: number;
}

/** Dialog state in process memory, for the embedded mode. Same TTL and fencing rules as Redis. */
export class MemoryStateStore implements StateStore {
  // JSON text, not objects: callers get a copy, exactly as with Redis, and cannot mutate the stored state.
  private readonly states = new Map<string, Expiring<string>>();
  private readonly fences = new Map<string, Expiring<number>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: MemoryStateStoreOptions) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async load(conversationKey: string): Promise<DialogState | undefined> {
    const entry = live(this.states, conversationKey);
    return entry ? (JSON.parse(entry.value) as DialogState) : undefined;
  }

  async save(state: DialogState, options: { fencingToken?: number } = {}): Promise<void> {
    const key = state.conversationKey;
    const expiresAt = Date.now() + this.options.ttlMs;
    const token = options.fencingToken;
    if (token !== undefined) {
      const highest = live(this.fences, key)?.value;
      if (highest !== undefined && token < highest) throw fenced(key, token, highest);
      this.fences.set(key, { value: token, expiresAt });
    }
    this.states.set(key, { value: JSON.stringify(state), expiresAt });
  }

  /** The fence record stays, so a stale writer cannot resurrect a deleted conversation. */
  async delete(conversationKey: string): Promise<void> {
    this.states.delete(conversationKey);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    for (const map of [this.states, this.fences] as Array<Map<string, Expiring<unknown>>>) {
      for (const key of map.keys()) live(map, key);
    }
  }
}

function live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
  const entry = map.get(key);
  if (entry && entry.expiresAt <= Date.now()) {
    map.delete(key);
    return undefined;
  }
  return entry;
}

/** Per-process locks with the same contract as the Redis ones: lease, owner-only extend/release, growing tokens. */
export class MemoryLockManager implements LockManager {
  private readonly holders = new Map<string, { owner: symbol; expiresAt: number }>();
  private readonly tokens = new MonotonicTokens();

  async tryAcquire(key: string, ttlMs: number): Promise<ConversationLock | undefined> {
    const held = this.holders.get(key);
    if (held && held.expiresAt > Date.now()) return undefined;
    const owner = Symbol(key);
    this.holders.set(key, { owner, expiresAt: Date.now() + ttlMs });
    const token = this.tokens.next(key);
    const ownEntry = () => {
      const entry = this.holders.get(key);
      return entry?.owner === owner && entry.expiresAt > Date.now() ? entry : undefined;
    };
    return {
      token,
      extend: async (ms: number) => {
        const entry = ownEntry();
        if (entry) entry.expiresAt = Date.now() + ms;
        return entry !== undefined;
      },
      release: async () => {
        if (ownEntry()) this.holders.delete(key);
      },
    };
  }

  async close(): Promise<void> {
    this.holders.clear();
  }
}
