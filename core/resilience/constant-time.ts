import { timingSafeEqual } from 'node:crypto';

/**
 * Whether two secrets, tokens or signatures are equal, in time that does not depend on where they
 * differ. Only the length leaks: timingSafeEqual refuses buffers of different lengths.
 */
export function constantTimeEqual(expected: string | Buffer, received: string | Buffer): boolean {
  const a = typeof expected === 'string' ? Buffer.from(expected) : expected;
  const b = typeof received === 'string' ? Buffer.from(received) : received;
  return a.length === b.length && timingSafeEqual(a, b);
}
