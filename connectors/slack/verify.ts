import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../core/resilience/constant-time';

/** Slack refuses requests older than this (https://api.slack.com/authentication/verifying-requests-from-slack). */
export const REPLAY_WINDOW_SECONDS = 300;

export type SlackVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'stale' | 'bad_signature' };

/**
 * v0 signature: HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret, compared in
 * constant time, the timestamp within five minutes of now.
 */
export function verifySlackSignature(input: {
  signingSecret: string;
  timestamp: string | string[] | undefined;
  signature: string | string[] | undefined;
  body: Buffer;
  nowSeconds?: number;
}): SlackVerdict {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d+$/.test(timestamp)) {
    return { ok: false, reason: 'missing_headers' };
  }
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > REPLAY_WINDOW_SECONDS) return { ok: false, reason: 'stale' };
  const [version, hex] = signature.split('=', 2);
  if (version !== 'v0' || !hex || !/^[0-9a-f]{64}$/.test(hex)) return { ok: false, reason: 'bad_signature' };
  const expected = signSlack(input.signingSecret, timestamp, input.body);
  return constantTimeEqual(expected, signature) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

export function signSlack(signingSecret: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}
