import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import { rateLimited } from '../metrics';
import { outboundDriver } from '../outbound';
import { connectConfiguredRedis } from '../state/redis-connect';
import { HubError } from '../types/errors';
import { type LimitStore, memoryBackoffStore, memoryLimitStore, redisLimitStore } from './limit-store';
import type { RateLimitsConfig, RateRuleConfig } from './rate-limits-schema';

/** What a limit counts, as `hub_rate_limited_total{scope}` names it. */
export type LimitScope =
  | 'rest.ip'
  | 'rest.sender'
  | 'webchat.ip'
  | 'webchat.session'
  | 'webchat.connect'
  | 'webchat.sockets'
  | 'webhook.tenant'
  | 'auth.failures'
  | 'llm.conversation'
  | 'llm.tenant';

export type CountedScope = Exclude<LimitScope, 'webchat.sockets' | 'auth.failures'>;

export interface LimitVerdict {
  limited: boolean;
  /** Whole seconds until the window ends (at least 1 when limited). */
  retryAfterSeconds: number;
}

const ALLOWED: LimitVerdict = { limited: false, retryAfterSeconds: 0 };

/** Over a limit: 429, `retryAfterSeconds` goes into Retry-After (core/http/server.ts). */
export class RateLimitedError extends HubError {
  declare readonly retryAfterSeconds: number;
  constructor(scope: LimitScope, retryAfterSeconds: number) {
    super('rate_limited', `Too many requests (${scope}); retry in ${retryAfterSeconds} s`, {
      retryable: true,
      status: 429,
      retryAfterSeconds,
    });
  }
}

function rulesOf(config: RateLimitsConfig): Record<CountedScope, RateRuleConfig> {
  return {
    'rest.ip': config.rest.perIp,
    'rest.sender': config.rest.perSender,
    'webchat.ip': config.webchat.messagesPerIp,
    'webchat.session': config.webchat.messagesPerSession,
    'webchat.connect': config.webchat.connectsPerIp,
    'webhook.tenant': config.webhooksPerTenant,
    'llm.conversation': config.llm.perConversation,
    'llm.tenant': config.llm.perTenant,
  };
}

/** The client's address as limits key it: IPv4 as is, IPv6 by its /64 (one host's usual share). */
export const clientAddress = (request: Pick<FastifyRequest, 'ip'>): string => normalizeIP(request.ip);

/**
 * The hub's access-layer limits (security.rateLimits): fixed-window counters per scope and key in
 * the stores of @fastify/rate-limit (Redis when replicas share them), open sockets per address in
 * this process, and failed authentications with back-off. A store that fails lets the request
 * through: an outage of the limit store must not become an outage of the hub.
 */
export class AccessLimits {
  readonly config: RateLimitsConfig;
  private readonly rules: Record<CountedScope, RateRuleConfig>;
  private readonly sockets = new Map<string, number>();

  constructor(
    config: RateLimitsConfig,
    private readonly counts: LimitStore,
    /** Back-off counters (failed authentications). */
    readonly backoff: LimitStore,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.config = config;
    this.rules = rulesOf(config);
  }

  /** Count one hit of `key` under `scope`; limited hits are counted in the metric with `route`. */
  async take(scope: CountedScope, key: string, route: string): Promise<LimitVerdict> {
    if (!this.config.enabled) return ALLOWED;
    const rule = this.rules[scope];
    try {
      const { current, ttlMs } = await this.counts.incr(
        `${scope}:${key}`,
        rule.windowSeconds * 1000,
        rule.max,
      );
      if (current <= rule.max) return ALLOWED;
      return this.refused(scope, route, ttlMs);
    } catch (error) {
      logger.warn({ err: error, scope }, 'rate-limit store failed; letting the request through');
      return ALLOWED;
    }
  }

  /** Count a refusal decided elsewhere (open sockets, failed authentications). */
  refused(scope: LimitScope, route: string, ttlMs: number): LimitVerdict {
    rateLimited.inc({ scope, route });
    return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
  }

  /**
   * Hit `scope` for the request (its address unless `key`); over the limit, answer 429 with
   * Retry-After and the hub's error body, and return true: the handler stops there.
   */
  async refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: CountedScope,
    key?: string,
  ): Promise<boolean> {
    const verdict = await this.take(
      scope,
      key ?? clientAddress(request),
      request.routeOptions.url ?? request.url,
    );
    if (!verdict.limited) return false;
    sendRateLimited(reply, new RateLimitedError(scope, verdict.retryAfterSeconds));
    return true;
  }

  /** An `onRequest` hook limiting a route per client address under `scope`. */
  perAddress(scope: CountedScope) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      if (await this.refuse(request, reply, scope)) return reply;
    };
  }

  /**
   * One more open socket from `address`, or undefined over `webchat.maxSocketsPerIp`. Counted in
   * this process: a socket lives in one, and a crashed replica must not leave counts behind.
   */
  openSocket(address: string, route: string): (() => void) | undefined {
    const open = this.sockets.get(address) ?? 0;
    if (this.config.enabled && open >= this.config.webchat.maxSocketsPerIp) {
      this.refused('webchat.sockets', route, 1000);
      return undefined;
    }
    this.sockets.set(address, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.sockets.get(address) ?? 1) - 1;
      if (left > 0) this.sockets.set(address, left);
      else this.sockets.delete(address);
    };
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

export function sendRateLimited(reply: FastifyReply, error: RateLimitedError): FastifyReply {
  return reply
    .header('retry-after', String(error.retryAfterSeconds))
    .code(429)
    .send({ error: { code: error.code, message: error.message } });
}

/** Limits with every store in this process (tests, single-process tools). */
export function memoryAccessLimits(config: RateLimitsConfig): AccessLimits {
  return new AccessLimits(config, memoryLimitStore(), memoryBackoffStore());
}

/**
 * Limits kept where core/outbound keeps its own (outboundDriver: Redis when the bus or state is on
 * Redis, memory when embedded), so every replica counts against the same limit.
 */
export async function createAccessLimits(config: HubConfig): Promise<AccessLimits> {
  const limits = config.security.rateLimits;
  if (outboundDriver(config) === 'memory') return memoryAccessLimits(limits);
  const redis = await connectConfiguredRedis(config.redis, 'rate limits (security.rateLimits)');
  const prefix = config.redis.keyPrefix;
  return new AccessLimits(
    limits,
    redisLimitStore(redis, prefix),
    redisLimitStore(redis, `${prefix}:backoff`, { exponentialBackoff: true }),
    async () => {
      await redis.quit();
    },
  );
}
