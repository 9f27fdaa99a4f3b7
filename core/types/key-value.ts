/**
 * A small shared key-value store with expiry that the hub hands to a plug-in (ChannelContext.storage):
 * in process memory when the hub runs embedded, in Redis when replicas must agree. Keys are the
 * plug-in's own; the hub scopes them with {@link KeyValueStore.namespace}. A failure is a HubError
 * `storage.unavailable` (retryable, 503), so a webhook that needs the store asks the platform to retry.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  /** Store `value` for `ttlMs`; with `ifAbsent`, only when the key is not there. True when written. */
  set(key: string, value: string, options: { ttlMs: number; ifAbsent?: boolean }): Promise<boolean>;
  /**
   * Keep the larger of the stored number and `value`, the key expiring at `expiresAtMs` (epoch ms on
   * the store's clock, so replicas agree). False when the stored number was not smaller or the time
   * has already passed.
   */
  raise(key: string, value: number, expiresAtMs: number): Promise<boolean>;
  delete(...keys: string[]): Promise<void>;
  /** The same store with every key under `name:`. */
  namespace(name: string): KeyValueStore;
}
