import { z } from 'zod';

/**
 * What the API description says about one route, declared where the route is registered (its
 * Fastify `config.openapi`), from the same zod schemas its handler validates with.
 * core/http/openapi.ts turns the routes of a running server into the OpenAPI document.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Groups in the document: health, channels, webhooks, helpdesk, admin, console, api. */
  tags: string[];
  /** Path parameters; any left out are documented as plain strings. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers the route reads (signatures, tokens, idempotency keys). */
  headers?: HeaderDoc[];
  body?: BodyDoc;
  responses: Record<number, ResponseDoc>;
  /** Guarded by the admin rule (core/http/admin-auth.ts): bearer token, 401/403/415 added. */
  admin?: true;
  /** A WebSocket upgrade: the protocol is in the description, not in the document. */
  websocket?: true;
}

export interface HeaderDoc {
  name: string;
  description: string;
  required?: boolean;
}

export interface BodyDoc {
  /** Media types the route reads. */
  contentTypes: string[];
  /** The shape, where the hub defines it; left out for a platform's own payload. */
  schema?: z.ZodType;
  description?: string;
  required?: boolean;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Default application/json when a schema is given. */
  contentType?: string;
  headers?: HeaderDoc[];
}

/** The body of every error the hub answers (the server's error handler and each route's own). */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('Stable, dotted error code, e.g. rest.invalid_request or ingress.unavailable'),
    message: z.string().describe('What was wrong and, for client errors, how to fix it'),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Each invalid field, where the route validates a body'),
  }),
});

export const errorResponse = (description: string): ResponseDoc => ({ description, schema: errorBodySchema });

/** A channel webhook's answer when the bus cannot take the event now: the platform must send it again. */
export const INGRESS_UNAVAILABLE_RESPONSE = errorResponse(
  'ingress.unavailable: the hub could not accept the event now (bus down); the platform should send it again',
);

/** Over a security.rateLimits limit: wait Retry-After seconds and send again. */
export const RATE_LIMITED_RESPONSE: ResponseDoc = {
  description:
    'rate_limited: over a limit of security.rateLimits (per address, per customer or per tenant); send again after Retry-After seconds',
  schema: errorBodySchema,
  headers: [{ name: 'retry-after', description: 'Seconds to wait before sending again' }],
};

/** The body of a platform's webhook: its own JSON, read as raw bytes so the signature can be checked. */
export function platformPayload(platform: string, contentTypes = ['application/json']): BodyDoc {
  return {
    contentTypes,
    required: true,
    description: `${platform}'s own webhook payload, as ${platform} documents it. The hub reads the exact bytes (the signature is computed over them), then normalizes the update.`,
  };
}

export interface PlatformWebhookDoc {
  /** The platform as people name it: "Telegram", "Meta (WhatsApp Cloud API)". */
  platform: string;
  summary: string;
  description?: string;
  /** The headers that authenticate the request (signature, timestamp, token). */
  headers: HeaderDoc[];
  contentTypes?: string[];
  /** What the route answers besides the shared 400, 413, 415 and 503. */
  responses: Record<number, ResponseDoc>;
}

/**
 * A channel's webhook (core/http/webhook.ts `registerRawWebhook`): the platform's raw payload, its
 * authenticating headers, and the answers every such route shares: 400 for a body that is not a
 * JSON object or nests deeper than `server.maxJsonDepth`, 413 over `server.bodyLimitBytes`, 415
 * for another media type, 429 over the tenant's webhook limit and 503 when the bus cannot take the
 * event (the platform sends both again). A signed JSON object the connector cannot read is
 * answered 200 (kept in the rejected-webhook store), so the platform stops resending it.
 */
export function platformWebhookDoc(webhook: PlatformWebhookDoc): RouteDoc {
  return {
    summary: webhook.summary,
    ...(webhook.description ? { description: webhook.description } : {}),
    tags: ['webhooks'],
    headers: webhook.headers,
    body: platformPayload(webhook.platform, webhook.contentTypes),
    responses: {
      400: errorResponse(
        'bad_request: the body is not a JSON object; request.json_too_deep: it nests deeper than server.maxJsonDepth',
      ),
      413: errorResponse('FST_ERR_CTP_BODY_TOO_LARGE: the body is over server.bodyLimitBytes'),
      415: errorResponse('FST_ERR_CTP_INVALID_MEDIA_TYPE: a media type the route does not read'),
      429: RATE_LIMITED_RESPONSE,
      503: INGRESS_UNAVAILABLE_RESPONSE,
      ...webhook.responses,
    },
  };
}

/** The route-doc slot of Fastify's route options. */
declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDoc;
  }
}
