import type { KeyValueStore } from '../types/key-value';

interface Entry {
  value: string;
  expiresAt: number;
}

/** Expired entries are dropped on read; past this size a write also sweeps the rest. */
const SWEEP_ABOVE = 10_000;

/** The embedded mode's store: one process, so its own clock is the only one. */
export class MemoryKeyValueStore implements KeyValueStore {
  constructor(
    private readonly entries = new Map<string, Entry>(),
    private readonly prefix = '',
  ) {}

  async get(key: string): Promise<string | undefined> {
    return this.live(this.prefix + key)?.value;
  }

  async set(key: string, value: string, options: { ttlMs: number; ifAbsent?: boolean }): Promise<boolean> {
    const full = this.prefix + key;
    if (options.ifAbsent && this.live(full)) return false;
    this.write(full, value, Date.now() + options.ttlMs);
    return true;
  }

  async raise(key: string, value: number, expiresAtMs: number): Promise<boolean> {
    const full = this.prefix + key;
    if (value <= Number(this.live(full)?.value ?? 0) || expiresAtMs <= Date.now()) return false;
    this.write(full, String(value), expiresAtMs);
    return true;
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(this.prefix + key);
  }

  namespace(name: string): KeyValueStore {
    return new MemoryKeyValueStore(this.entries, `${this.prefix}${name}:`);
  }

  private live(full: string): Entry | undefined {
    const entry = this.entries.get(full);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(full);
      return undefined;
    }
    return entry;
  }

  private write(full: string, value: string, expiresAt: number): void {
    this.entries.set(full, { value, expiresAt });
    if (this.entries.size <= SWEEP_ABOVE) return;
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
