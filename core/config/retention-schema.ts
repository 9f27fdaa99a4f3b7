import { z } from 'zod';

const days = z.coerce.number().int().positive();
const flag = z.union([z.boolean(), z.stringbool()]);

/** What one tenant keeps; a key left out is the section's. */
const retentionWindowFields = {
  /** Messages older than this many days are deleted, then the conversations and customers left empty. Unset: kept. */
  transcriptsDays: days.optional(),
  /**
   * Raw platform payloads (messages.payload) are cut to a stub after this many days while the text
   * stays until `transcriptsDays`. Unset: the payload goes with its message.
   */
  payloadsDays: days.optional(),
};

function payloadsNotLonger(
  window: { transcriptsDays?: number; payloadsDays?: number },
  ctx: z.RefinementCtx,
) {
  const { transcriptsDays, payloadsDays } = window;
  if (transcriptsDays !== undefined && payloadsDays !== undefined && payloadsDays > transcriptsDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['payloadsDays'],
      message: `payloadsDays (${payloadsDays}) is longer than transcriptsDays (${transcriptsDays}): a payload goes with its message`,
    });
  }
}

/**
 * `retention:` of hub.yaml (core/store/retention.ts, README "Retention"): how long transcripts and
 * raw payloads are kept, per tenant, and how often the hub purges what is older.
 */
export const retentionSectionSchema = z
  .object({
    ...retentionWindowFields,
    /** A tenant's own windows; each key left out is the section's. */
    tenants: z.record(z.string(), z.object(retentionWindowFields).superRefine(payloadsNotLonger)).default({}),
    /** Workers purge on this interval (one process at a time across the deployment); `hub retention purge` runs it by hand. */
    schedule: flag.default(true),
    purgeIntervalMinutes: z.coerce.number().int().min(1).default(60),
    /** Rows deleted per statement: short transactions, no long locks on a busy table. */
    batchSize: z.coerce.number().int().min(1).max(100_000).default(500),
  })
  .superRefine(payloadsNotLonger)
  .prefault({});

export type RetentionConfig = z.infer<typeof retentionSectionSchema>;

/** What one tenant keeps, in days; undefined: kept. */
export interface RetentionWindow {
  transcriptsDays?: number;
  payloadsDays?: number;
}

export function retentionFor(config: RetentionConfig, tenant: string): RetentionWindow {
  const own = Object.hasOwn(config.tenants, tenant) ? config.tenants[tenant] : undefined;
  const transcriptsDays = own?.transcriptsDays ?? config.transcriptsDays;
  const payloadsDays = own?.payloadsDays ?? config.payloadsDays;
  return {
    ...(transcriptsDays === undefined ? {} : { transcriptsDays }),
    // A payload never outlives its message, whichever level set which.
    ...(payloadsDays === undefined
      ? {}
      : { payloadsDays: Math.min(payloadsDays, transcriptsDays ?? Number.POSITIVE_INFINITY) }),
  };
}

/** True when some tenant (or the default) has a window: the scheduled purge has work to look for. */
export function retentionConfigured(config: RetentionConfig): boolean {
  return (
    config.transcriptsDays !== undefined ||
    config.payloadsDays !== undefined ||
    Object.values(config.tenants).some((t) => t.transcriptsDays !== undefined || t.payloadsDays !== undefined)
  );
}
