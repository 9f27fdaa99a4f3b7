import type { FastifyInstance } from 'fastify';
import { HubError } from '../types/errors';

/**
 * How deep a JSON body may nest (`server.maxJsonDepth`). Platform payloads nest about ten levels;
 * the limit keeps recursive code downstream (tracing, cloning, jsonb) from running out of stack.
 */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export const JSON_TOO_DEEP = 'request.json_too_deep';
export const JSON_INVALID = 'request.invalid_json';

/**
 * Whether a JSON text nests deeper than `limit` arrays and objects. One pass over the characters,
 * no recursion and no allocation, so it is safe to run before parsing on any body the size limit let
 * through; brackets inside strings (escapes included) do not count.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/** The 400 for a body nested deeper than the limit. */
export function tooDeepError(limit: number): HubError {
  return new HubError(JSON_TOO_DEEP, `JSON nests deeper than ${limit} levels`, { status: 400 });
}

/**
 * Parse a JSON text no deeper than `maxDepth`. Throws a HubError 400: `request.json_too_deep`, or
 * `request.invalid_json` when it is not JSON.
 */
export function parseJsonLimited(text: string, maxDepth: number): unknown {
  if (jsonDepthExceeds(text, maxDepth)) throw tooDeepError(maxDepth);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HubError(JSON_INVALID, 'Body is not valid JSON', { status: 400, cause });
  }
}

/**
 * The server's JSON parser with a depth check in front: Fastify's own parser (secure-json-parse,
 * prototype poisoning refused) for every route outside the raw webhooks, which check the depth
 * themselves. Too large is Fastify's 413 (`server.bodyLimitBytes`), before anything is parsed.
 */
export function installDepthLimitedJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepthExceeds(text, maxDepth)) return done(tooDeepError(maxDepth), undefined);
    return parse(request, text, done);
  });
}
