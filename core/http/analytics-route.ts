import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type AnalyticsStore, businessFigures, DIMENSIONS, type Dimension, utcDay } from '../analytics';
import { ALL_TENANTS } from '../security/permissions';
import { requireAdmin } from './admin-auth';
import { errorResponse, type RouteDoc } from './route-doc';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD');
const name = z.string().min(1).max(200);
/** The longest range one request may ask for: a year of days. */
const MAX_DAYS = 366;

const querySchema = z
  .object({
    from: day.optional().describe('First day, inclusive, YYYY-MM-DD (UTC); default today'),
    to: day.optional().describe('Last day, inclusive, YYYY-MM-DD (UTC); default `from`'),
    by: z
      .string()
      .optional()
      .describe(`Comma-separated dimensions to group by: ${DIMENSIONS.join(', ')}; default day`),
    tenant: name.optional().describe('Only this tenant'),
    channel: name.optional().describe('Only this channel id'),
    language: name.optional().describe('Only this language (zh, en)'),
    intent: name.optional().describe('Only this intent'),
  })
  .strict();

/** One entry of the figures (core/analytics/figures.ts), for the API description. */
export const figuresSchema = z.object({
  key: z.record(z.string(), z.string().nullable()),
  conversations: z.number(),
  open: z.number(),
  contained: z.number(),
  handedOff: z.number(),
  abandoned: z.number(),
  endedUnanswered: z.number(),
  containmentRate: z.number().nullable(),
  csat: z.object({ average: z.number().nullable(), count: z.number() }),
  helpful: z.object({ yes: z.number(), no: z.number(), rate: z.number().nullable() }),
  firstResponseMs: z.object({ p50: z.number().nullable(), p90: z.number().nullable() }),
  turns: z.number(),
  unknownIntentRate: z.number().nullable(),
  dontKnowRate: z.number().nullable(),
  dontKnow: z.number(),
  llmFallbacks: z.number(),
  confidenceHistogram: z.array(z.number()),
});

export const analyticsDoc: RouteDoc = {
  summary: 'Business figures per tenant, channel, language, intent and day',
  description:
    'Conversations and their outcomes (contained, handed off, abandoned), containment rate, CSAT, "did that help?" rate, first-response p50/p90, unknown-intent and "I don\'t know" rates, LLM fallbacks and the intent confidence histogram, as README "Business metrics" defines them. An operator scoped to some tenants sees only theirs.',
  tags: ['admin'],
  admin: true,
  query: querySchema,
  responses: {
    200: {
      description: 'One entry per group',
      schema: z.object({ from: day, to: day, figures: z.array(figuresSchema) }),
    },
    400: errorResponse(
      'admin.invalid_query: a malformed day, an unknown dimension, or a range over 366 days',
    ),
  },
};

/** `GET /admin/analytics` for operators who may read the figures (analytics.read), in their tenant scope. */
export function registerAnalyticsRoute(
  app: FastifyInstance,
  analytics: AnalyticsStore,
  options: { abandonAfterMinutes: number; now?: () => Date },
): void {
  app.get(
    '/admin/analytics',
    {
      onRequest: requireAdmin,
      config: {
        permission: 'analytics.read',
        openapi: analyticsDoc,
        tenantOf: (request) => (request.query as { tenant?: unknown }).tenant as string | undefined,
      },
    },
    async (request, reply) => {
      const invalid = (message: string) =>
        reply.code(400).send({ error: { code: 'admin.invalid_query', message } });
      const parsed = querySchema.safeParse(request.query);
      if (!parsed.success)
        return invalid('from/to are days (YYYY-MM-DD); tenant, channel, language, intent names');
      const now = options.now?.() ?? new Date();
      const from = parsed.data.from ?? utcDay(now);
      const to = parsed.data.to ?? from;
      const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
      if (!(span >= 0 && span < MAX_DAYS))
        return invalid(`to must be on or after from, at most ${MAX_DAYS} days`);
      const by = (parsed.data.by ?? 'day')
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean);
      const unknown = by.filter((d) => !(DIMENSIONS as readonly string[]).includes(d));
      if (unknown.length)
        return invalid(`unknown dimension ${unknown.join(', ')}; use ${DIMENSIONS.join(', ')}`);
      const scope = request.caller?.tenants ?? [ALL_TENANTS];
      const tenants = parsed.data.tenant || scope.includes(ALL_TENANTS) ? undefined : scope;
      const figures = await businessFigures(
        analytics,
        { ...parsed.data, from, to, by: by as Dimension[], ...(tenants ? { tenants } : {}) },
        now,
        options.abandonAfterMinutes,
      );
      return { from, to, figures };
    },
  );
}
