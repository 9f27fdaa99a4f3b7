import type { FastifyInstance } from 'fastify';
import type { OnlineCheckFor } from '../config/online';
import type { ChannelConfig, HubConfig } from '../config/schema';
import type { Logger } from '../log';
import type { DraftSink } from '../outbound/draft';
import type { OutboundScheduler } from '../outbound/scheduler';
import type { AccessLimits } from '../security/access-limits';
import type { ApiKeyAuthenticator } from '../security/api-keys';
import type { SessionTokens } from '../security/session-tokens';
import type {
  Attachment,
  ConversationRef,
  HubStore,
  InboundEvent,
  KeyValueStore,
  OutboundFeed,
  OutboundMessage,
  PublishResult,
} from '../types';
import type { RejectedWebhookSink } from './rejected-webhooks';

/** What a connector gets from the hub: one ingress call, the reply feed, the transcript and storage. Nothing else. */
export interface ChannelContext {
  config: ChannelConfig;
  hub: HubConfig;
  /**
   * The one ingress call: dedupe, enqueue, count. Resolves once the event is durable on the bus
   * (`accepted: false` for a duplicate); rejects with the HubError `ingress.unavailable` (retryable,
   * 503) when the bus cannot take it now, so the connector leaves the update unacknowledged.
   */
  accept(event: InboundEvent): Promise<PublishResult>;
  /**
   * Key-value storage with expiry, scoped to this channel, where the hub keeps its shared state
   * (Redis when replicas must agree, memory when embedded). Connectors open no connections of their own.
   */
  storage: KeyValueStore;
  /** Replies as the dialog workers produce them (any process). */
  feed: OutboundFeed;
  store: HubStore;
  logger: Logger;
  /**
   * The shared outbound scheduler (rate limits, retries, idempotency). Every hub process has one,
   * the worker-only one included; unit tests of pull channels may leave it out.
   */
  outbound?: OutboundScheduler;
  /**
   * How channels know who calls them: the REST channel's API keys and the web chat's session-token
   * signer. Left out (unit tests), REST accepts no key and the web chat signs with a per-process key.
   */
  access?: ChannelAccess;
  /**
   * The access-layer limits (security.rateLimits) for connectors that take requests from the
   * public directly (REST, web chat). Platform webhooks are limited per tenant in `accept` instead.
   * Absent in unit tests: nothing is limited.
   */
  limits?: AccessLimits;
  /**
   * Where a signed request the connector acknowledged but could not read is kept for inspection
   * (core/channels/rejected-webhooks.ts). Absent in unit tests: such requests are counted and logged only.
   */
  rejected?: RejectedWebhookSink;
}

export interface ChannelAccess {
  apiKeys: ApiKeyAuthenticator;
  sessionTokens: SessionTokens;
}

/**
 * A channel's transport: verify, normalize, publish, ack (style rule 1). Routes go under
 * `/webhooks/<id>` or the connector's own prefix (`/webchat/<id>` for the web chat).
 */
export interface Connector {
  readonly id: string;
  readonly type: string;
  /** Register HTTP routes on the shared server. Not called in a worker-only process, so `deliver` must not need it. */
  register(app: FastifyInstance): Promise<void>;
  /** Deliver a reply to the platform (push channels); web chat and REST pick replies from the feed. */
  deliver?(message: OutboundMessage): Promise<void>;
  /**
   * Show a reply while it is generated, as a message edited in place (`streaming: true`); the
   * final `deliver` of `replyId` then edits it instead of posting. Undefined: the channel does not
   * stream (not supported, or turned off).
   */
  openDraft?(ref: ConversationRef, replyId: string, locale?: string): DraftSink | undefined;
  /** Rejects with what is wrong (bad token, polling conflict); shown per channel on /readyz. */
  health?(): Promise<void>;
  /**
   * Download a file a customer sent (an attachment's `fileId`, or its `url` where the platform gives
   * one). Rejects with a HubError: 404 unknown file, 413 over the channel's `maxFileBytes`, 502 when
   * the platform refuses. Served to operators by `GET /admin/channels/<id>/files/<fileId>`.
   */
  fetchFile?(attachment: Pick<Attachment, 'fileId' | 'url'>): Promise<FetchedFile>;
  close?(): Promise<void>;
}

export type ConnectorFactory = (context: ChannelContext) => Connector;

/** A downloaded attachment; whole in memory, which the channel's `maxFileBytes` bounds. */
export interface FetchedFile {
  body: Buffer;
  mimeType: string;
  name?: string;
  size: number;
}

/**
 * `hub validate --online`: ask the platform whether one channel block's credentials work (Telegram
 * getMe, Slack auth.test). Resolves with a short detail for the `ok` line (never a secret); rejects
 * with what is wrong and how to fix it. A channel's descriptor names it as `online`; a type without
 * one is reported as skipped.
 */
export type OnlineCheck = OnlineCheckFor<ChannelConfig>;
