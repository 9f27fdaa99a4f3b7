import { z } from 'zod';

const flag = z.union([z.boolean(), z.stringbool()]);

/** When the satisfaction survey is asked (core/dialog/survey.ts); never more than once per conversation. */
export const CSAT_ASK = ['after_resolution', 'after_handoff_solved', 'both'] as const;
/** How it is answered: 👍/👎 (stored as 5 and 1) or a 1–5 rating. */
export const CSAT_SCALES = ['thumbs', '1-5'] as const;

const csatFields = {
  enabled: flag,
  ask: z.enum(CSAT_ASK),
  scale: z.enum(CSAT_SCALES),
};

/**
 * `analytics:` in hub.yaml: the business metrics (core/analytics, README "Business metrics") and
 * the in-channel satisfaction survey.
 */
export const analyticsSectionSchema = z
  .object({
    /** Write one fact per customer turn and one row per conversation (tables turn_facts, conversation_outcomes). */
    enabled: flag.default(true),
    /**
     * A conversation with no customer message for this long is over: abandoned when the bot's last
     * turn asked the customer something or could not answer, resolved otherwise. The next message
     * starts a new conversation. Fractions are minutes too (0.5 is 30 s).
     */
    abandonAfterMinutes: z.coerce.number().positive().default(30),
    /** How often the business gauges on /metrics (hub_containment_ratio, hub_csat_average, …) are refreshed. */
    gaugeRefreshSeconds: z.coerce.number().int().min(5).default(60),
    /** The days those gauges cover: conversations started today (UTC) and on the days before, this many in all. */
    gaugeWindowDays: z.coerce.number().int().min(1).max(366).default(7),
    csat: z
      .object({
        enabled: csatFields.enabled.default(false),
        /** after_resolution: a flow ended without a handoff and nothing waits; after_handoff_solved: the helpdesk solved or closed the ticket. */
        ask: csatFields.ask.default('both'),
        scale: csatFields.scale.default('thumbs'),
        /** A tenant's own settings; each key left out is the section's. */
        tenants: z.record(z.string(), z.object(csatFields).partial()).default({}),
      })
      .prefault({}),
  })
  .prefault({});

export type AnalyticsConfig = z.infer<typeof analyticsSectionSchema>;

export interface CsatRules {
  enabled: boolean;
  ask: (typeof CSAT_ASK)[number];
  scale: (typeof CSAT_SCALES)[number];
}

/** The survey settings one tenant runs with. */
export function csatRulesFor(config: AnalyticsConfig, tenant: string): CsatRules {
  const { tenants, ...section } = config.csat;
  return { ...section, ...tenants[tenant] };
}
