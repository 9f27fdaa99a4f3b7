import { z } from 'zod';
import { jsonDepthExceeds } from '../../core/http/json-body';
import { issueLines } from '../../core/resilience/zod-issues';
import type { OutboundMessage } from '../../core/types';

/** Session ids name conversations (safe in keys and URLs); the hub's signed token, not the id, grants access. */
export const SESSION_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const MAX_FRAME_BYTES = 8 * 1024;
export const MAX_TEXT_CHARS = 4000;
/** A frame is a flat object; anything nesting deeper is refused before it is parsed. */
export const MAX_FRAME_DEPTH = 8;

// No ':' in ids: the inbound event id joins channel, session and client id with ':'.
const clientId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 of [A-Za-z0-9_-]');
const locale = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'use a BCP-47 tag such as "zh-CN"');

export const clientFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    id: clientId,
    text: z.string().trim().min(1).max(MAX_TEXT_CHARS),
    locale: locale.optional(),
  }),
  z.object({
    type: z.literal('action'),
    id: clientId,
    actionId: z.string().min(1).max(200),
    title: z.string().max(200).optional(),
    locale: locale.optional(),
  }),
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** A transcript entry as the browser needs it: no raw payloads, the client's own id for dedupe. */
export type HistoryEntry =
  | { direction: 'in'; id: string; clientId: string; text: string; at: string }
  | { direction: 'out'; id: string; at: string; message: OutboundMessage };

export type ErrorCode =
  | 'bad_json'
  | 'bad_frame'
  | 'frame_too_large'
  | 'binary_unsupported'
  | 'rate_limited'
  | 'publish_failed';

export type ServerFrame =
  /** The session to reconnect to and its signed token: on a new session, and as a token nears expiry. */
  | { type: 'session'; session: string; token: string; expiresAt: string }
  | { type: 'ack'; id: string; duplicate: boolean }
  | { type: 'typing'; on: boolean }
  | { type: 'reply'; message: OutboundMessage }
  | { type: 'history'; entries: HistoryEntry[] }
  | {
      type: 'error';
      code: ErrorCode;
      message: string;
      id?: string;
      retryable?: boolean;
      retryAfterMs?: number;
    };

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: ServerFrame & { type: 'error' } };

/** Parse one WebSocket frame; every failure becomes an error frame for the client, never a throw. */
export function parseClientFrame(data: Buffer, isBinary: boolean): ParsedFrame {
  if (isBinary) return fail('binary_unsupported', 'send JSON text frames');
  if (data.byteLength > MAX_FRAME_BYTES) {
    return fail('frame_too_large', `frames are limited to ${MAX_FRAME_BYTES} bytes`);
  }
  const text = data.toString('utf8');
  if (jsonDepthExceeds(text, MAX_FRAME_DEPTH)) {
    return fail('bad_json', `frames nest at most ${MAX_FRAME_DEPTH} levels deep`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('bad_json', 'frame is not valid JSON');
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (!parsed.success) {
    // Echo the id only when it is well-formed, so the client can settle that message.
    const id = clientId.safeParse((json as { id?: unknown } | null)?.id);
    const issue = issueLines(parsed.error, '')[0];
    const where = issue?.path ? `${issue.path}: ` : '';
    return fail(
      'bad_frame',
      `${where}${issue?.message ?? 'invalid frame'}`,
      id.success ? id.data : undefined,
    );
  }
  return { ok: true, frame: parsed.data };
}

function fail(code: ErrorCode, message: string, id?: string): ParsedFrame {
  return { ok: false, error: { type: 'error', code, message, ...(id === undefined ? {} : { id }) } };
}
