import { z } from 'zod';

/**
 * The generic keys of the `erp:` and `ticketing:` sections of hub.yaml. Each driver's own block
 * (`erp.odoo`, `ticketing.zendesk`, ...) is kept as written here and validated by the chosen
 * adapter's descriptor (adapters/erp, adapters/ticketing), at start-up and in `hub validate`.
 */

const positiveInt = z.coerce.number().int().positive();
const flag = z.union([z.boolean(), z.stringbool()]);
/**
 * Consecutive failures open the circuit for `resetMs`, doubling per failed trial up to `maxResetMs`
 * (jittered); the trial call is cut to `probeTimeoutMs`, so recovery is seen within seconds.
 */
export const breakerFields = z.object({
  failureThreshold: positiveInt.default(5),
  resetMs: positiveInt.default(500),
  maxResetMs: positiveInt.default(2_000),
  probeTimeoutMs: positiveInt.default(2_000),
});
const breakerSchema = breakerFields.prefault({});

/** What the breaker needs from a `breaker:` block; keys added later are optional for callers. */
export type BreakerConfig = { failureThreshold: number; resetMs: number } & Partial<
  Omit<z.infer<typeof breakerFields>, 'failureThreshold' | 'resetMs'>
>;

export const erpSectionSchema = z
  .object({
    /** One of the names in adapters/erp/index.ts. */
    driver: z.string().min(1).default('demo'),
    timeoutMs: positiveInt.default(5_000),
    /** Order look-ups sent to the ERP at once, per hub process; more wait their turn. Unset: no limit. */
    maxConcurrency: positiveInt.optional(),
    /** Days after delivery a return is accepted (used where the ERP does not decide it). */
    returnWindowDays: positiveInt.default(30),
    /** When the ERP fails or times out during an order question, open a ticket for a human. */
    ticketOnFailure: flag.default(false),
    /** Consecutive ERP failures before order look-ups fail fast for `resetMs`. */
    breaker: breakerSchema,
    /** Wrong phone/e-mail answers before the conversation must wait. */
    maxVerificationAttempts: positiveInt.default(3),
    /**
     * Failed proofs over all conversations (core/orders/verification-limit.ts): per requester a lock,
     * per order only a bounded back-off for typed guesses, so a stranger cannot lock the owner out.
     */
    verification: z
      .object({
        /** Failed proofs per order and hour, from anyone, before typed guesses for it must wait. */
        maxFailuresPerOrderPerHour: positiveInt.default(10),
        /** First wait past that limit; doubles per further failure. */
        orderBackoffMs: positiveInt.default(5_000),
        /** Longest wait: the owner typing their e-mail or phone is slowed by at most this. */
        maxOrderBackoffMs: positiveInt.default(300_000),
        /** Failed proofs per requester (verified identity, else channel + sender) and hour before they are locked out. */
        maxFailuresPerRequesterPerHour: positiveInt.default(5),
      })
      .prefault({}),
  })
  .loose()
  .prefault({});

export const ticketingSectionSchema = z
  .object({
    /** One of the names in adapters/ticketing/index.ts. */
    driver: z.string().min(1).default('demo'),
    timeoutMs: positiveInt.default(10_000),
    /**
     * What the helpdesk receives of the customer's words: `masked` (default) replaces personal data
     * in the subject, summary, transcript and comments by placeholders (README "Privacy"); `clear`
     * sends them as written. The verified identity is in the ticket's customer fields either way.
     */
    pii: z.enum(['masked', 'clear']).default('masked'),
    outbox: z
      .object({
        /** How often the delivery worker looks for due tickets. */
        pollMs: positiveInt.default(1_000),
        /** Attempts before a ticket goes to the dead-letter list (`hub tickets dlq`). */
        maxAttempts: positiveInt.default(8),
        backoffMs: positiveInt.default(2_000),
        maxBackoffMs: positiveInt.default(300_000),
        /** A claimed delivery whose worker died is taken over after this. */
        leaseMs: positiveInt.default(60_000),
      })
      .prefault({}),
    breaker: breakerSchema,
    /**
     * Helpdesk → hub updates (agent replies, assignment, solved/closed). Each helpdesk's receiver
     * names its secret key here (zendeskSecret, genericSecret) and exists only when it is set.
     */
    webhooks: z
      .object({
        /** Largest clock difference accepted for a signature timestamp (replays outside it are refused). */
        toleranceSeconds: positiveInt.default(300),
      })
      .loose()
      .prefault({}),
  })
  .loose()
  .prefault({});

export type ErpConfig = z.infer<typeof erpSectionSchema>;
export type TicketingConfig = z.infer<typeof ticketingSectionSchema>;
