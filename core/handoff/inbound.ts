import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HandoffDeps, HandoffReceiver } from './receiver';

export type SignatureVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'stale' | 'bad_signature' };

export interface SignedRequest {
  headers: IncomingHttpHeaders;
  /** The exact bytes received: signatures are computed over them. */
  body: Buffer;
  secret: string;
  toleranceSeconds: number;
  nowMs?: number;
}

/**
 * A helpdesk's signed webhook, `POST /webhooks/helpdesk/<source>`, whose body is the documented
 * update JSON (payload.ts). Registered whenever its secret is set, whatever the configured driver:
 * tickets opened before a driver change still get their updates.
 */
export interface SignedHelpdeskWebhook {
  /** The route's last segment and the metrics label. */
  readonly source: string;
  /** The key of `ticketing.webhooks` that holds the signing secret (e.g. zendeskSecret). */
  readonly secretKey: string;
  verify(request: SignedRequest): SignatureVerdict;
  /** The adapter whose ticket an update is about; `named` is the payload's `adapter`. */
  adapterOf(named: string | undefined, driver: string): string;
  /** The headers `verify` reads, for the API description (/openapi.json). */
  readonly signatureHeaders?: readonly SignatureHeader[];
}

export interface SignatureHeader {
  name: string;
  description: string;
}

/**
 * Routes of a helpdesk whose agents work inside the hub (the embedded helpdesk's console),
 * registered only when it is the configured driver. Returns the paths it serves, for the log.
 */
export type HelpdeskRoutes = (
  app: FastifyInstance,
  deps: HandoffDeps,
  receiver: HandoffReceiver,
) => Promise<string[]>;

/** How a helpdesk's updates reach the hub: the part of a helpdesk descriptor core/handoff uses. */
export interface HelpdeskInbound {
  readonly name: string;
  readonly webhook?: SignedHelpdeskWebhook;
  readonly routes?: HelpdeskRoutes;
}

/** A webhook signing secret; empty (e.g. `${VAR:-}` unset) means no receiver. */
export const webhookSecretSchema = z
  .union([z.literal(''), z.string().min(16, 'use a secret of at least 16 characters')])
  .optional()
  .transform((value) => value || undefined);

/** The signed webhooks of these helpdesks, one per source (two helpdesks may share the generic one). */
export function signedWebhooks(helpdesks: readonly HelpdeskInbound[]): SignedHelpdeskWebhook[] {
  const bySource = new Map<string, SignedHelpdeskWebhook>();
  for (const { webhook } of helpdesks) if (webhook) bySource.set(webhook.source, webhook);
  return [...bySource.values()];
}

/** A signature timestamp no further from now than the tolerance: a captured request expires. */
export function withinTolerance(atMs: number, request: Pick<SignedRequest, 'toleranceSeconds' | 'nowMs'>) {
  return Math.abs((request.nowMs ?? Date.now()) - atMs) <= request.toleranceSeconds * 1000;
}

/** A header's single value; a repeated header counts as missing. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}
