import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RejectedWebhookSink } from '../channels/rejected-webhooks';
import { webhookRejected, webhookRequests } from '../metrics';
import { DEFAULT_MAX_JSON_DEPTH, JSON_TOO_DEEP, jsonDepthExceeds } from './json-body';
import type { RouteDoc } from './route-doc';

export interface RawWebhookOptions {
  channel: string;
  path: string;
  bodyLimit: number;
  /** Content types accepted as raw bytes; anything else gets 415 before the body is read. */
  contentTypes: string[];
  /**
   * Runs before the body is read: a request without the right secret is refused unparsed.
   * Return a status to stop (401), or undefined to go on.
   */
  authenticateHeaders?: (request: FastifyRequest) => number | undefined;
  handle: (request: FastifyRequest, body: Buffer, reply: FastifyReply) => Promise<unknown>;
  /** The route in the API description (core/http/route-doc.ts `platformWebhookDoc`). */
  openapi: RouteDoc;
}

/**
 * A webhook route that gets the body as the exact bytes received: signatures are computed over
 * them, and re-serialized JSON would not match. The parsers stay inside this route's scope.
 */
export async function registerRawWebhook(app: FastifyInstance, options: RawWebhookOptions): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      options.contentTypes,
      { parseAs: 'buffer', bodyLimit: options.bodyLimit },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      options.path,
      {
        config: { openapi: options.openapi },
        onRequest: async (request, reply) => {
          const status = options.authenticateHeaders?.(request);
          if (status !== undefined) {
            webhookRequests.inc({ channel: options.channel, outcome: 'unauthorized' });
            request.log.warn(
              { channel: options.channel, status },
              'webhook request refused: bad credentials',
            );
            return reply.code(status).send({ error: { code: 'unauthorized', message: 'Unauthorized' } });
          }
        },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        return options.handle(request, body, reply);
      },
    );
  });
}

export interface JsonBodyOptions {
  /** `server.maxJsonDepth`; default {@link DEFAULT_MAX_JSON_DEPTH}. */
  maxDepth?: number;
  /** Where the refused body is kept (the request was signed: an operator may want to see it). */
  rejected?: RejectedWebhookSink;
}

/**
 * Parse a JSON object no deeper than the limit, or answer 400 (`bad_request`, or
 * `request.json_too_deep`), counted and, with `rejected`, kept; the caller returns when it gets
 * undefined. Never parses a body nested deeper than the limit, so no recursion downstream can
 * run out of stack on it.
 */
export function parseJsonBody(
  channel: string,
  body: Buffer | string,
  request: FastifyRequest,
  reply: FastifyReply,
  options: JsonBodyOptions = {},
): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const tooDeep = jsonDepthExceeds(text, maxDepth);
  if (!tooDeep) {
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // answered below
    }
  }
  const code = tooDeep ? JSON_TOO_DEEP : 'bad_request';
  webhookRequests.inc({ channel, outcome: 'bad_request' });
  webhookRejected.inc({ channel, reason: code });
  request.log.info({ channel, code }, 'webhook body is not a JSON object within the depth limit');
  options.rejected
    ?.record({ channel, reason: code, body })
    .catch((error: unknown) =>
      request.log.warn({ channel, err: error }, 'could not keep a rejected webhook body'),
    );
  const message = tooDeep ? `JSON nests deeper than ${maxDepth} levels` : 'Body must be a JSON object';
  void reply.code(400).send({ error: { code, message } });
  return undefined;
}
