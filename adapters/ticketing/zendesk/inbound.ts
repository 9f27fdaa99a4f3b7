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
 * Zendesk webhooks: `X-Zendesk-Webhook-Signature` is base64(HMAC-SHA256(secret, timestamp + body))
 * where the timestamp is the `X-Zendesk-Webhook-Signature-Timestamp` header as sent (ISO 8601,
 * e.g. 2021-03-25T05:09:27Z). https://developer.zendesk.com/documentation/webhooks/verifying/
 */
export function signZendesk(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
}

export function verifyZendeskSignature(request: SignedRequest): SignatureVerdict {
  const timestamp = headerValue(request.headers, 'x-zendesk-webhook-signature-timestamp');
  const signature = headerValue(request.headers, 'x-zendesk-webhook-signature');
  if (timestamp === undefined || !signature) return { ok: false, reason: 'missing_headers' };
  const at = timestampMs(timestamp);
  if (at === undefined) return { ok: false, reason: 'missing_headers' };
  if (!withinTolerance(at, request)) return { ok: false, reason: 'stale' };
  return constantTimeEqual(signZendesk(request.secret, timestamp, request.body), signature)
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

/** `POST /webhooks/helpdesk/zendesk`, signed with the webhook's signing secret (`ticketing.webhooks.zendeskSecret`). */
export const zendeskWebhook: SignedHelpdeskWebhook = {
  source: 'zendesk',
  secretKey: 'zendeskSecret',
  verify: verifyZendeskSignature,
  adapterOf: () => 'zendesk',
  signatureHeaders: [
    {
      name: 'X-Zendesk-Webhook-Signature',
      description: 'base64(HMAC-SHA256(signing secret, timestamp + raw body))',
    },
    { name: 'X-Zendesk-Webhook-Signature-Timestamp', description: 'ISO 8601, within the tolerance of now' },
  ],
};
