import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { webhookRequests } from '../metrics';
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

/** Parse JSON or answer 400; the caller returns when it gets undefined. */
export function parseJsonBody(
  channel: string,
  body: Buffer | string,
  request: FastifyRequest,
  reply: FastifyReply,
): unknown {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  webhookRequests.inc({ channel, outcome: 'bad_request' });
  request.log.info({ channel }, 'webhook body is not a JSON object');
  void reply.code(400).send({ error: { code: 'bad_request', message: 'Body must be a JSON object' } });
  return undefined;
}
