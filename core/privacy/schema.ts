import { z } from 'zod';

/** The built-in kinds of personal data the hub finds (core/privacy/detect.ts). */
export const PII_TYPES = ['phone', 'email', 'card', 'cvv', 'iban', 'cn_id', 'passport', 'address'] as const;
export type PiiType = (typeof PII_TYPES)[number];

const flag = z.union([z.boolean(), z.stringbool()]);

/** A deployment's own kind: `type` names the placeholder (`MEMBER_NO` → `<MEMBER_NO_1>`). */
export const piiPatternSchema = z
  .object({
    type: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$/, 'letters, digits and "_", e.g. MEMBER_NO')
      .transform((type) => type.toUpperCase()),
    pattern: z.string().min(1),
    /** Regular-expression flags besides g (e.g. "i"). */
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'only i, m, s and u')
      .default(''),
  })
  .refine(
    (entry) => {
      try {
        new RegExp(entry.pattern, entry.flags);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

const piiRulesFields = {
  /** Off: no masking at all (not advised; the model then reads what customers type). */
  enabled: flag.optional(),
  /** The built-in kinds that are found; default all. */
  types: z.array(z.enum(PII_TYPES)).optional(),
  /** Extra kinds by pattern. */
  patterns: z.array(piiPatternSchema).optional(),
  /** Region of phone numbers written without a country code. */
  defaultRegion: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166 region, e.g. CN')
    .optional(),
  /**
   * Placeholders the model echoes are put back in the reply the customer reads (their own phone,
   * e-mail, address...). Card numbers and CVVs are never put back, whatever this says.
   */
  restore: flag.optional(),
};

/** `privacy:` of hub.yaml: `pii` with per-tenant overrides under `pii.tenants.<tenant>`. */
export const privacySectionSchema = z
  .object({
    pii: z
      .object({
        enabled: flag.default(true),
        types: z.array(z.enum(PII_TYPES)).default([...PII_TYPES]),
        patterns: z.array(piiPatternSchema).default([]),
        defaultRegion: z
          .string()
          .regex(/^[A-Z]{2}$/, 'an ISO 3166 region, e.g. CN')
          .default('CN'),
        restore: flag.default(true),
        /** A tenant's own settings; each key left out is the section's. `patterns` add to the section's. */
        tenants: z.record(z.string(), z.object(piiRulesFields)).default({}),
      })
      .prefault({}),
    /** Encryption at rest (core/privacy/at-rest.ts): keys from HUB_DATA_KEYS, else this file. */
    atRest: z
      .object({
        /** Where the data keys are generated and kept when HUB_DATA_KEYS is unset (one host only). */
        keyFile: z.string().min(1).default('.hub-data/data-keys.json'),
      })
      .prefault({}),
  })
  .prefault({});

export type PrivacyConfig = z.infer<typeof privacySectionSchema>;
export type PiiConfig = PrivacyConfig['pii'];
export type PiiPattern = z.infer<typeof piiPatternSchema>;

/** The settings one tenant masks with. */
export interface PiiRules {
  enabled: boolean;
  types: readonly PiiType[];
  patterns: readonly PiiPattern[];
  defaultRegion: string;
  restore: boolean;
}

export function piiRulesFor(config: PiiConfig, tenant?: string): PiiRules {
  const own = tenant ? config.tenants[tenant] : undefined;
  return {
    enabled: own?.enabled ?? config.enabled,
    types: own?.types ?? config.types,
    patterns: [...config.patterns, ...(own?.patterns ?? [])],
    defaultRegion: own?.defaultRegion ?? config.defaultRegion,
    restore: own?.restore ?? config.restore,
  };
}

/** Every built-in kind on, CN numbers by default: what an unconfigured hub masks. */
export const DEFAULT_PII_CONFIG: PiiConfig = privacySectionSchema.parse({}).pii;
