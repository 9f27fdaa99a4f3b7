import { logger } from '../log';
import { connectionErrorListener } from '../resilience/connection-errors';
import type { RedisClient } from '../state/redis-client';
import type { OutboundFeed } from '../types';
import type { OutboundMessage } from '../types/outbound';
import { deliver } from './feed-memory';

type Listener = (message: OutboundMessage) => void;

export interface RedisFeedOptions {
  /** Pub/sub channel, e.g. "hub:feed:hub-inbound". */
  channel: string;
  ownsConnection?: boolean;
}

/**
 * Fan-out across processes over Redis pub/sub: lossy by design (a process that is down misses
 * messages; the store holds the truth). A connection in subscriber mode can run no other command, so
 * subscribing opens a second connection, once, shared by all local listeners.
 */
export class RedisFeed implements OutboundFeed {
  private readonly listeners = new Set<Listener>();
  private subscriber?: Promise<RedisClient>;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisFeedOptions,
  ) {}

  /** Its connection and channel, for a bus on the same Redis that publishes in its own scripts. */
  binding(): { redis: RedisClient; channel: string } {
    return { redis: this.redis, channel: this.options.channel };
  }

  async publish(message: OutboundMessage): Promise<void> {
    await this.redis.publish(this.options.channel, JSON.stringify(message));
  }

  async subscribe(listener: Listener): Promise<() => Promise<void>> {
    const subscription: Listener = (message) => listener(message);
    this.listeners.add(subscription);
    try {
      await this.subscribed();
    } catch (error) {
      this.listeners.delete(subscription);
      throw error;
    }
    return async () => {
      this.listeners.delete(subscription);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await (await subscriber.catch(() => undefined))?.quit();
    if (this.options.ownsConnection) await this.redis.quit();
  }

  /** Resolves once SUBSCRIBE is acknowledged, so a message published right after is not missed. */
  private subscribed(): Promise<RedisClient> {
    this.subscriber ??= (async () => {
      const subscriber = this.redis.duplicate();
      subscriber.on('error', connectionErrorListener('redis', 'outbound feed subscriber'));
      subscriber.on('message', (channel: string, json: string) => {
        if (channel !== this.options.channel) return;
        // Parsed per listener, as the memory feed copies: one listener cannot change what the next sees.
        for (const listener of [...this.listeners]) {
          const message = parse(json);
          if (message) deliver(listener, message);
        }
      });
      try {
        await subscriber.subscribe(this.options.channel);
      } catch (error) {
        // Not remembered: the next subscribe tries again, on a fresh connection.
        this.subscriber = undefined;
        subscriber.disconnect();
        throw error;
      }
      return subscriber;
    })();
    return this.subscriber;
  }
}

function parse(json: string): OutboundMessage | undefined {
  try {
    return JSON.parse(json) as OutboundMessage;
  } catch (error) {
    logger.warn({ err: error }, 'outbound feed message is not JSON');
    return undefined;
  }
}
