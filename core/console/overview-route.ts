import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type AnalyticsStore, OVERVIEW_WINDOWS, type OverviewWindow, overviewFigures } from '../analytics';
import { requireAdmin } from '../http/admin-auth';
import { figuresSchema } from '../http/analytics-route';
import { errorResponse, type RouteDoc } from '../http/route-doc';
import { ALL_TENANTS, inTenantScope } from '../security/permissions';

const name = z.string().min(1).max(200);
const windows = Object.keys(OVERVIEW_WINDOWS) as [OverviewWindow, ...OverviewWindow[]];

const querySchema = z
  .object({
    window: z
      .enum(windows)
      .optional()
      .describe('hour: the last hour by minute (default); day: the last day by hour'),
    tenant: name.optional().describe('Only this tenant'),
    channel: name.optional().describe('Only this channel id'),
  })
  .strict();

const nullableNumber = z.number().nullable();
const systemSchema = z.object({
  turns: z.number().describe('Customer turns handled'),
  qps: z.number().describe('Turns per second over the span'),
  latencyMs: z.object({ p50: nullableNumber, p99: nullableNumber }).describe("The worker's time on a turn"),
  failedAttempts: z.number().describe('Turn attempts that threw (retried or dead-lettered)'),
  deadLetters: z.number(),
  errorRate: nullableNumber.describe('Failed attempts ÷ (turns + failed attempts)'),
  llmFallbacks: z.number(),
  fallbackRate: nullableNumber.describe('LLM fallbacks ÷ turns that asked the knowledge base'),
});

export const overviewDoc: RouteDoc = {
  summary: "The console's overview: system and business figures of the last hour or day",
  description:
    'Turns per second (over the window and the last minute), p50/p99 turn latency, error and LLM fallback rates, per minute (window hour) or per hour (window day), from the rows every process writes (turn_facts, system_minutes); and the business figures (README "Business metrics") of the window with their trend by hour (last 24 hours) or by day (last 14 days). An operator scoped to some tenants sees only theirs; errors named to no tenant only an unfiltered view of all tenants.',
  tags: ['console'],
  admin: true,
  query: querySchema,
  responses: {
    200: {
      description: 'The overview',
      schema: z.object({
        window: z.enum(windows),
        from: z.string(),
        to: z.string(),
        stepSeconds: z.number(),
        system: systemSchema.extend({ liveQps: z.number(), loggedErrors: nullableNumber }),
        systemSeries: z.array(systemSchema.extend({ at: z.string() })),
        business: figuresSchema,
        businessTrend: z.object({ step: z.enum(['hour', 'day']), figures: z.array(figuresSchema) }),
        choices: z
          .object({
            tenants: z.array(z.string()),
            channels: z.array(z.object({ id: z.string(), tenant: z.string() })),
          })
          .describe("The configured channels and their tenants within the caller's scope, for the filters"),
      }),
    },
    400: errorResponse('admin.invalid_query: an unknown window or parameter'),
  },
};

/** `GET /admin/console/overview` for operators who may read the figures (analytics.read), in their tenant scope. */
export function registerOverviewRoute(
  app: FastifyInstance,
  analytics: AnalyticsStore,
  options: {
    abandonAfterMinutes: number;
    /** The configured channels (`channels:`), offered as filters. */
    channels: readonly { id: string; tenant: string }[];
    now?: () => Date;
  },
): void {
  app.get(
    '/admin/console/overview',
    {
      onRequest: requireAdmin,
      config: {
        permission: 'analytics.read',
        openapi: overviewDoc,
        tenantOf: (request) => (request.query as { tenant?: unknown }).tenant as string | undefined,
      },
    },
    async (request, reply) => {
      const parsed = querySchema.safeParse(request.query);
      if (!parsed.success) {
        return reply.code(400).send({
          error: {
            code: 'admin.invalid_query',
            message: `window is ${windows.join(' or ')}; tenant and channel are names; nothing else`,
          },
        });
      }
      const scope = request.caller?.tenants ?? [ALL_TENANTS];
      // A named tenant was checked against the scope by the guard (tenantOf).
      const tenants = parsed.data.tenant || scope.includes(ALL_TENANTS) ? undefined : scope;
      const channels = options.channels
        .filter((channel) => inTenantScope(scope, channel.tenant))
        .map(({ id, tenant }) => ({ id, tenant }));
      const choices = { tenants: [...new Set(channels.map((c) => c.tenant))].sort(), channels };
      const overview = await overviewFigures(
        analytics,
        {
          window: parsed.data.window ?? 'hour',
          ...(parsed.data.tenant ? { tenant: parsed.data.tenant } : {}),
          ...(parsed.data.channel ? { channel: parsed.data.channel } : {}),
          ...(tenants ? { tenants } : {}),
        },
        options.now?.() ?? new Date(),
        options.abandonAfterMinutes,
      );
      return { ...overview, choices };
    },
  );
}
