import { createHash } from 'node:crypto';

/**
 * A tag or label derived from the hub's request id, for helpdesks that take no idempotency key:
 * "hub-" and the first `hexChars` hex digits of its SHA-256 (only [a-z0-9-], safe in any query).
 */
export function hubIdempotencyTag(key: string, hexChars = 20): string {
  return `hub-${createHash('sha256').update(key).digest('hex').slice(0, hexChars)}`;
}
