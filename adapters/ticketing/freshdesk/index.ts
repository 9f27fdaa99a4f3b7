import { z } from 'zod';
import { defineHelpdesk } from '../descriptor';
import { FreshdeskTicketing } from './freshdesk';
import { checkFreshdeskOnline } from './online';

export { type FreshdeskOptions, FreshdeskTicketing, freshdeskIdempotencyTag } from './freshdesk';

const positiveInt = z.coerce.number().int().positive();

export const freshdeskOptionsSchema = z.object({
  /** https://<domain>.freshdesk.com */
  baseUrl: z.string().url(),
  /** The agent's API key (Profile settings → API key); sent as basic auth `apiKey:X`. */
  apiKey: z.string().min(1),
  /** Freshdesk ticket source: 7 chat (default), 2 portal, 3 phone, 1 email. */
  source: positiveInt.default(7),
  groupId: positiveInt.optional(),
  /** Freshdesk ticket `type` per hub category (orders, returns, billing, general), e.g. {returns: Refund}. */
  typeByCategory: z.record(z.string(), z.string()).default({}),
  /** Custom fields sent with every ticket ({cf_channel: hub}); "{category}" and "{priority}" in a value are filled in. */
  customFields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** The look-up before create scans tickets updated this recently (Freshdesk's search index lags by minutes). */
  recentWindowMs: positiveInt.default(3_600_000),
});

export const freshdeskHelpdesk = defineHelpdesk({
  name: 'freshdesk',
  options: freshdeskOptionsSchema,
  requires: 'set baseUrl and apiKey',
  create: (options, { ticketing }) => new FreshdeskTicketing({ ...options, timeoutMs: ticketing.timeoutMs }),
  online: checkFreshdeskOnline,
});
