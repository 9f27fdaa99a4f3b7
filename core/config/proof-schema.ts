import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();
const flag = z.union([z.boolean(), z.stringbool()]);

/**
 * `proof:` in hub.yaml: how a customer proves an order is theirs beyond the e-mail or phone they
 * type (core/orders). The failure limits are under `erp.verification`.
 */
export const proofSectionSchema = z
  .object({
    phone: z
      .object({
        /** Region (ISO 3166 alpha-2) of phone numbers written without a country code, when the order's own number has none. */
        defaultRegion: z.string().length(2).optional(),
        /** The same per tenant; wins over defaultRegion. */
        regionByTenant: z.record(z.string(), z.string().length(2)).default({}),
      })
      .prefault({}),
    otp: z
      .object({
        /** offer: the proof question offers a code ("code"); always: a code is sent at once; off: never. */
        mode: z.enum(['offer', 'always', 'off']).default('offer'),
        ttlMs: positiveInt.default(600_000),
        /** Wrong codes accepted per code. */
        attempts: positiveInt.default(3),
        /** A new code for the same order and conversation no sooner than this. */
        resendAfterMs: positiveInt.default(60_000),
        /** Key of the codes' HMAC; set it (from env) when several workers share conversations. */
        secret: z.string().min(16).optional(),
      })
      .prefault({}),
    /** Codes to the e-mail on the order over SMTP; without it no e-mail codes are sent. */
    email: z
      .object({
        smtp: z.object({
          host: z.string().min(1),
          port: positiveInt.default(587),
          /** true: TLS from the start (port 465); false: STARTTLS when the server offers it. */
          secure: flag.default(false),
          user: z.string().optional(),
          pass: z.string().optional(),
        }),
        from: z.string().min(3),
        subject: z.string().default('Your verification code'),
      })
      .optional(),
  })
  .prefault({});

export type ProofConfig = z.infer<typeof proofSectionSchema>;
