import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../resilience/constant-time';

export type SignatureVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'stale' | 'bad_signature' };

interface VerifyInput {
  secret: string;
  timestamp: string | string[] | undefined;
  signature: string | string[] | undefined;
  body: Buffer;
  toleranceSeconds: number;
  nowMs?: number;
}

/**
 * Zendesk webhooks: `X-Zendesk-Webhook-Signature` is base64(HMAC-SHA256(secret, timestamp + body))
 * where the timestamp is the `X-Zendesk-Webhook-Signature-Timestamp` header as sent (ISO 8601,
 * e.g. 2021-03-25T05:09:27Z). https://developer.zendesk.com/documentation/webhooks/verifying/
 */
export function signZendesk(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
}

export function verifyZendeskSignature(input: VerifyInput): SignatureVerdict {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !signature) {
    return { ok: false, reason: 'missing_headers' };
  }
  const at = timestampMs(timestamp);
  if (at === undefined) return { ok: false, reason: 'missing_headers' };
  if (!fresh(at, input)) return { ok: false, reason: 'stale' };
  return constantTimeEqual(signZendesk(input.secret, timestamp, input.body), signature)
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

/**
 * The generic receiver (Request Tracker scrips, any helpdesk that can sign): `X-Hub-Signature-256`
 * is `sha256=` + hex(HMAC-SHA256(secret, timestamp + "." + body)), with the timestamp in Unix
 * seconds in `X-Hub-Timestamp`. Signing the timestamp is what makes a captured request useless
 * once it is older than the tolerance.
 */
export function signGeneric(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export function verifyGenericSignature(input: VerifyInput): SignatureVerdict {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{9,11}$/.test(timestamp)) {
    return { ok: false, reason: 'missing_headers' };
  }
  if (!fresh(Number(timestamp) * 1000, input)) return { ok: false, reason: 'stale' };
  if (!/^sha256=[0-9a-f]{64}$/i.test(signature)) return { ok: false, reason: 'bad_signature' };
  return constantTimeEqual(signGeneric(input.secret, timestamp, input.body), signature.toLowerCase())
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

/** ISO 8601 (what Zendesk sends) or Unix seconds. */
function timestampMs(value: string): number | undefined {
  if (/^\d{9,11}$/.test(value)) return Number(value) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function fresh(atMs: number, input: VerifyInput): boolean {
  return Math.abs((input.nowMs ?? Date.now()) - atMs) <= input.toleranceSeconds * 1000;
}
