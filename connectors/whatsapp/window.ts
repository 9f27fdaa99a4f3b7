import type { KeyValueStore } from '../../core/types';

/** WhatsApp accepts free-form messages for 24 hours after the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000;

/**
 * When each customer last wrote. Written by the process that receives the webhook, read by whichever
 * process sends the reply, so it lives in the hub's storage (Redis when the hub runs on Redis).
 */
export class ServiceWindowStore {
  constructor(private readonly storage: KeyValueStore) {}

  /** The customer wrote at `atMs` (the platform's timestamp); a later time is never moved back. */
  async touch(customer: string, atMs: number): Promise<void> {
    const at = Math.floor(atMs);
    await this.storage.raise(windowKey(customer), at, at + SERVICE_WINDOW_MS);
    // They wrote again, so a window that closes later earns a new template.
    await this.storage.delete(templateKey(customer));
  }

  async isOpen(customer: string, nowMs = Date.now()): Promise<boolean> {
    const at = Number(await this.storage.get(windowKey(customer)));
    return at > 0 && at + SERVICE_WINDOW_MS > nowMs;
  }

  /** The platform said the window is closed (error 131047), whatever we remembered. */
  async forget(customer: string): Promise<void> {
    await this.storage.delete(windowKey(customer));
  }

  /**
   * Take the right to send the re-engagement template; false when one went out since the customer
   * last wrote, so a closed window gets one template, not one per reply.
   */
  async claimTemplate(customer: string): Promise<boolean> {
    return this.storage.set(templateKey(customer), '1', { ttlMs: SERVICE_WINDOW_MS, ifAbsent: true });
  }

  async releaseTemplate(customer: string): Promise<void> {
    await this.storage.delete(templateKey(customer));
  }
}

const windowKey = (customer: string) => `window:${customer}`;
const templateKey = (customer: string) => `template:${customer}`;
