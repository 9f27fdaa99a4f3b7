import { createHmac } from 'node:crypto';
import {
  headerValue,
  type SignatureVerdict,
  type SignedHelpdeskWebhook,
  type SignedRequest,
  withinTolerance,
} from '../../../core/handoff/inbound';
import { constantTimeEqual } from '../../../core/resilience/constant-time';

/**
 * The hub's generic signing scheme, both ways: the webhook helpdesk signs what it sends with it,
 * and the generic receiver verifies Request Tracker scrips and any helpdesk that signs like GitHub.
 * `X-Hub-Signature-256` is `sha256=` + hex(HMAC-SHA256(secret, timestamp + "." + body)), with the
 * timestamp in Unix seconds in `X-Hub-Timestamp`. Signing the timestamp is what makes a captured
 * request useless once it is older than the tolerance.
 */
export function signGeneric(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export function verifyGenericSignature(request: SignedRequest): SignatureVerdict {
  const timestamp = headerValue(request.headers, 'x-hub-timestamp');
  const signature = headerValue(request.headers, 'x-hub-signature-256');
  if (timestamp === undefined || signature === undefined || !/^\d{9,11}$/.test(timestamp)) {
    return { ok: false, reason: 'missing_headers' };
  }
  if (!withinTolerance(Number(timestamp) * 1000, request)) return { ok: false, reason: 'stale' };
  if (!/^sha256=[0-9a-f]{64}$/i.test(signature)) return { ok: false, reason: 'bad_signature' };
  return constantTimeEqual(signGeneric(request.secret, timestamp, request.body), signature.toLowerCase())
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

/**
 * `POST /webhooks/helpdesk/generic` (`ticketing.webhooks.genericSecret`). The sender may name the
 * adapter whose ticket changed; the configured driver otherwise.
 */
export const genericWebhook: SignedHelpdeskWebhook = {
  source: 'generic',
  secretKey: 'genericSecret',
  verify: verifyGenericSignature,
  adapterOf: (named, driver) => named ?? driver,
  signatureHeaders: [
    {
      name: 'X-Hub-Signature-256',
      description: 'sha256= + hex(HMAC-SHA256(secret, timestamp + "." + raw body))',
    },
    { name: 'X-Hub-Timestamp', description: 'Unix seconds, within the tolerance of now' },
  ],
};
