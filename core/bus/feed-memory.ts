import { logger } from '../log';
import type { OutboundFeed } from '../types';
import type { OutboundMessage } from '../types/outbound';

type Listener = (message: OutboundMessage) => void;

/**
 * Listeners by channel, shared by every MemoryFeed of the process: two feeds made from the same config
 * reach each other, as two Redis feeds on one channel do.
 */
const channels = new Map<string, Set<Listener>>();

/** Fan-out within one process (embedded mode): every subscriber on the channel gets every message. */
export class MemoryFeed implements OutboundFeed {
  private readonly own = new Set<Listener>();

  constructor(private readonly channel = 'hub:feed') {}

  async publish(message: OutboundMessage): Promise<void> {
    // A JSON copy per listener, as over Redis: one listener cannot change what the next one sees.
    const json = JSON.stringify(message);
    for (const listener of [...(channels.get(this.channel) ?? [])]) {
      deliver(listener, JSON.parse(json) as OutboundMessage);
    }
  }

  async subscribe(listener: Listener): Promise<() => Promise<void>> {
    // A wrapper per subscription, so subscribing the same function twice gives two independent subscriptions.
    const subscription: Listener = (message) => listener(message);
    const listeners = channels.get(this.channel) ?? new Set<Listener>();
    channels.set(this.channel, listeners);
    listeners.add(subscription);
    this.own.add(subscription);
    return async () => this.unsubscribe(subscription);
  }

  async close(): Promise<void> {
    for (const subscription of this.own) this.unsubscribe(subscription);
  }

  private unsubscribe(subscription: Listener): void {
    this.own.delete(subscription);
    const listeners = channels.get(this.channel);
    listeners?.delete(subscription);
    if (listeners?.size === 0) channels.delete(this.channel);
  }
}

/** A throwing subscriber must not stop the others or fail the publisher. */
export function deliver(listener: Listener, message: OutboundMessage): void {
  try {
    listener(message);
  } catch (error) {
    logger.error({ err: error, messageId: message.id }, 'outbound feed listener failed');
  }
}
