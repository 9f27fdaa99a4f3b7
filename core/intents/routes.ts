import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { utcDay } from '../analytics/store';
import type { IntentConfig } from '../dialog/intent/config';
import { requireAdmin } from '../http/admin-auth';
import { errorResponse, type RouteDoc } from '../http/route-doc';
import { logger } from '../log';
import { issueLines } from '../resilience/zod-issues';
import { type AuditSink, recordOperatorAction } from '../security/audit';
import { actorOf } from '../security/caller';
import { ALL_TENANTS, inTenantScope } from '../security/permissions';
import { transcriptView } from '../security/transcripts';
import { maskPii } from '../training/export';
import { configExamples, evaluateExamplesInTurns, exportLearnedExamples } from './service';
import type { IntentReviewStore } from './store';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD');
const name = z.string().min(1).max(200);
/** The default range: the last 30 days, today included. */
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;

const rangeQuery = {
  from: day
    .optional()
    .describe(`First day, inclusive, YYYY-MM-DD (UTC); default ${DEFAULT_DAYS - 1} days before \`to\``),
  to: day.optional().describe('Last day, inclusive, YYYY-MM-DD (UTC); default today'),
  tenant: name.optional().describe('Only this tenant'),
};
const overviewQuery = z.object(rangeQuery).strict();
const reviewQuery = z
  .object({
    ...rangeQuery,
    below: z.coerce
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Also turns recognized with a confidence under this (0–1; default 0.7; 1: every turn)'),
    limit: z.coerce.number().int().min(1).max(200).optional().describe('Most turns (default 50)'),
  })
  .strict();
const labelBody = z
  .object({
    eventId: z.string().min(1).max(300).describe('The turn (its inbound event id, from the review queue)'),
    intent: name.describe('The right intent: one the dialog file defines'),
  })
  .strict();
const labelParams = z.object({ id: z.string().min(1).max(100).describe('The label id') });

const histogram = z.array(z.number()).length(10).describe('Turns per confidence tenth: [0, 0.1) … [0.9, 1]');
const scoreSchema = z.object({
  intent: z.string(),
  support: z.number(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
});
const confusionSchema = z.object({ gold: z.string(), predicted: z.string(), count: z.number() });
const evaluationSchema = z.object({
  id: z.string(),
  dataset: z.string(),
  source: z.enum(['cli', 'console']),
  status: z.enum(['running', 'done', 'failed']),
  requestedBy: z.string().nullable(),
  examples: z.number().nullable(),
  labels: z.number().nullable(),
  folds: z.number().nullable(),
  accuracy: z.number().nullable(),
  macroF1: z.number().nullable(),
  perIntent: z.array(scoreSchema),
  confusions: z.array(confusionSchema),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
});
const labelSchema = z.object({
  id: z.string(),
  eventId: z.string(),
  tenant: z.string(),
  predicted: z.string().nullable(),
  intent: z.string(),
  status: z.enum(['pending', 'approved', 'rejected']),
  labelledBy: z.string(),
  labelledAt: z.string(),
  reviewedBy: z.string().nullable(),
  reviewedAt: z.string().nullable(),
});
const classifierSchema = z.object({
  examples: z.number().describe('Examples the running classifier was trained on (learned ones included)'),
  reloadedAt: z
    .string()
    .nullable()
    .describe('When approved labels were last trained on; null: since start-up'),
  reloading: z.boolean(),
  reload: z.enum(['in-process', 'restart']).describe('How an approval reaches the classifier'),
});

const invalidQuery = errorResponse(
  'admin.invalid_query: a malformed day or parameter, or a range over 366 days',
);

export const intentsOverviewDoc: RouteDoc = {
  summary: 'Intent recognition: confidence distribution, unknown rates, offline evaluations',
  description:
    'Per intent: customer turns, their confidence histogram in tenths and share; the unknown rate as reviewed (of the turns labelled with the intent, the share the recognizer had left unknown). Overall histogram and unknown rate, the latest evaluations of the classifier (accuracy, macro-F1, per-intent precision/recall/F1, top confusions), the labels waiting for review and how the classifier picks up approved ones. An operator scoped to some tenants sees only their turns.',
  tags: ['admin'],
  admin: true,
  query: overviewQuery,
  responses: {
    200: {
      description: 'The figures of the range',
      schema: z.object({
        from: day,
        to: day,
        overall: z.object({ turns: z.number(), unknownRate: z.number().nullable(), histogram }),
        intents: z.array(
          z.object({
            intent: z.string(),
            configured: z.boolean(),
            turns: z.number(),
            share: z.number().nullable(),
            histogram,
            labelled: z.number(),
            unknownRate: z.number().nullable(),
          }),
        ),
        configured: z.array(z.string()),
        evaluations: z.array(evaluationSchema),
        pendingLabels: z.number(),
        examplesFile: z.string(),
        classifier: classifierSchema,
      }),
    },
    400: invalidQuery,
  },
};

const reviewTurnSchema = z.object({
  eventId: z.string(),
  at: z.string(),
  tenant: z.string(),
  channel: z.string(),
  predicted: z.string(),
  confidenceBucket: z.number().nullable(),
  text: z.string().describe("The customer's message (personal data masked for analysts)"),
  label: labelSchema
    .pick({ id: true, intent: true, status: true, labelledBy: true, labelledAt: true })
    .extend({ labelledByName: z.string().nullable().describe("The labeller's display name") })
    .nullable(),
});

export const intentsReviewDoc: RouteDoc = {
  summary: 'The review queue: recent turns left unknown, recognized with low confidence, or labelled',
  description:
    'The newest customer turns whose intent was `unknown`, whose confidence was under `below`, or whose label waits for review, with the message (through the transcript view: analysts read it masked) and its label.',
  tags: ['admin'],
  admin: true,
  query: reviewQuery,
  responses: {
    200: { description: 'The turns, newest first', schema: z.object({ turns: z.array(reviewTurnSchema) }) },
    400: invalidQuery,
  },
};

export const intentsLabelDoc: RouteDoc = {
  summary: 'Label a turn with its right intent',
  description:
    'Records (or replaces, while not yet approved) the label of a recognized customer turn: a pending training example, until an admin or supervisor approves it.',
  tags: ['admin'],
  admin: true,
  body: { contentTypes: ['application/json'], schema: labelBody, required: true },
  responses: {
    201: { description: 'The label, pending', schema: labelSchema },
    400: errorResponse(
      'intents.invalid_label: a malformed body, or an intent the dialog file does not define',
    ),
    404: errorResponse('intents.turn_not_found: no recognized customer turn with that id in your tenants'),
    409: errorResponse('intents.label_approved: the turn is labelled and approved already'),
  },
};

const reviewResponses = (action: string): RouteDoc['responses'] => ({
  200: {
    description: `The label, ${action}`,
    schema: z.object({
      label: labelSchema,
      examples: z.number().optional().describe('Examples now in the learned-examples file'),
      examplesFile: z.string().optional(),
      classifier: classifierSchema.optional(),
    }),
  },
  404: errorResponse('intents.label_not_found: no label with that id in your tenants'),
  409: errorResponse(
    "intents.label_not_pending: approved or rejected already; intents.text_gone: the turn's message was purged, nothing to learn from",
  ),
});

export const intentsApproveDoc: RouteDoc = {
  summary: 'Approve a label: its turn becomes a training example',
  description:
    "The turn's text, personal data masked, is added to the learned-examples file (`dialog.examplesFile`) the classifier trains on; the hub retrains in-process when its workers run in the same process, else at their next start. Put on the audit trail.",
  tags: ['admin'],
  admin: true,
  params: labelParams,
  responses: {
    ...reviewResponses('approved'),
    500: errorResponse(
      'intents.examples_file_unwritable (approved and audited; the file is written by the next export)',
    ),
  },
};

export const intentsRejectDoc: RouteDoc = {
  summary: 'Reject a label',
  tags: ['admin'],
  admin: true,
  params: labelParams,
  responses: reviewResponses('rejected'),
};

export const intentsEvaluateDoc: RouteDoc = {
  summary: 'Run the offline evaluation of the intent classifier in the background',
  description:
    "`hub intents eval`'s stratified cross-validation on the configured examples (dialog file and learned ones): accuracy, macro-F1, per-intent precision/recall/F1 and the top confusions, kept per run and shown by GET /admin/intents.",
  tags: ['admin'],
  admin: true,
  responses: {
    202: { description: 'Started', schema: z.object({ id: z.string(), status: z.literal('running') }) },
    409: errorResponse('intents.evaluation_running: one runs already; wait for it'),
  },
};

export interface IntentRoutesOptions {
  /** The intents as the classifier trains on them now (dialog file + learned examples), read anew. */
  loadIntents: () => Promise<IntentConfig>;
  /** `dialog.examplesFile`. */
  examplesFile: string;
  /** What the console's evaluation says it ran on. */
  dataset: string;
  /** Retrains the workers' classifier in this process (role `all`); absent: at their next start. */
  reloadIntents?: () => Promise<number>;
  audit?: AuditSink;
  now?: () => Date;
}

type Query = z.infer<typeof overviewQuery>;

/**
 * The console's Intents page (core/security/permissions.ts: `intents.read`, `intents.label`,
 * `intents.manage`): GET /admin/intents, GET /admin/intents/review, POST /admin/intents/labels,
 * POST /admin/intents/labels/:id/approve|reject, POST /admin/intents/evaluations.
 */
export function registerIntentRoutes(
  app: FastifyInstance,
  store: IntentReviewStore,
  options: IntentRoutesOptions,
): void {
  const classifier = {
    examples: 0,
    reloadedAt: null as string | null,
    reloading: false,
    reload: options.reloadIntents ? ('in-process' as const) : ('restart' as const),
  };
  void options
    .loadIntents()
    .then((intents) => {
      classifier.examples = configExamples(intents).length;
    })
    .catch(() => undefined);
  let evaluating = false;

  const scopeOf = (request: FastifyRequest, query: Query) => {
    const scope = request.caller?.tenants ?? [ALL_TENANTS];
    if (query.tenant) return [query.tenant];
    return scope.includes(ALL_TENANTS) ? undefined : scope;
  };
  const rangeOf = (query: Query): { from: string; to: string } | string => {
    const to = query.to ?? utcDay(options.now?.() ?? new Date());
    const from = query.from ?? utcDay(new Date(Date.parse(to) - (DEFAULT_DAYS - 1) * 86_400_000));
    const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
    if (!(span >= 0 && span < MAX_DAYS)) return `to must be on or after from, at most ${MAX_DAYS} days`;
    return { from, to };
  };
  const fail = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.code(status).send({ error: { code, message } });
  const invalid = (reply: FastifyReply, message: string) => fail(reply, 400, 'admin.invalid_query', message);

  app.get(
    '/admin/intents',
    {
      onRequest: requireAdmin,
      config: {
        permission: 'intents.read',
        openapi: intentsOverviewDoc,
        tenantOf: (request) => (request.query as { tenant?: unknown }).tenant as string | undefined,
      },
    },
    async (request, reply) => {
      const parsed = overviewQuery.safeParse(request.query);
      if (!parsed.success) return invalid(reply, 'from/to are days (YYYY-MM-DD); tenant a name');
      const range = rangeOf(parsed.data);
      if (typeof range === 'string') return invalid(reply, range);
      const tenants = scopeOf(request, parsed.data);
      const scope = { ...range, ...(tenants ? { tenants } : {}) };
      const [distribution, outcomes, evaluations, intents] = await Promise.all([
        store.distribution(scope),
        store.labelledOutcomes(scope),
        store.evaluations(10),
        options.loadIntents().catch(() => undefined),
      ]);
      const configured = intents?.intents.map((i) => i.name) ?? [];
      const total = distribution.reduce((n, d) => n + d.turns, 0);
      const overall = new Array<number>(10).fill(0);
      for (const d of distribution) {
        d.histogram.forEach((n, i) => {
          overall[i] = (overall[i] ?? 0) + n;
        });
      }
      const unknown = distribution.find((d) => d.intent === 'unknown')?.turns ?? 0;
      const names = [...new Set([...distribution.map((d) => d.intent), ...configured])];
      const rows = names.map((intent) => {
        const seen = distribution.find((d) => d.intent === intent);
        const outcome = outcomes.get(intent);
        return {
          intent,
          configured: configured.includes(intent),
          turns: seen?.turns ?? 0,
          share: total ? (seen?.turns ?? 0) / total : null,
          histogram: seen?.histogram ?? new Array<number>(10).fill(0),
          labelled: outcome?.labelled ?? 0,
          unknownRate:
            intent === 'unknown'
              ? total
                ? unknown / total
                : null
              : outcome?.labelled
                ? outcome.unknown / outcome.labelled
                : null,
        };
      });
      const pendingLabels = await store.db
        .selectFrom('intent_labels')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('status', '=', 'pending')
        .$if(scope.tenants !== undefined, (q) =>
          q.where('tenant', 'in', scope.tenants?.length ? scope.tenants : ['']),
        )
        .executeTakeFirstOrThrow();
      return {
        ...range,
        overall: { turns: total, unknownRate: total ? unknown / total : null, histogram: overall },
        intents: rows,
        configured,
        evaluations,
        pendingLabels: Number(pendingLabels.n),
        examplesFile: options.examplesFile,
        classifier,
      };
    },
  );

  app.get(
    '/admin/intents/review',
    {
      onRequest: requireAdmin,
      config: {
        permission: 'intents.read',
        openapi: intentsReviewDoc,
        tenantOf: (request) => (request.query as { tenant?: unknown }).tenant as string | undefined,
      },
    },
    async (request, reply) => {
      const parsed = reviewQuery.safeParse(request.query);
      if (!parsed.success)
        return invalid(reply, 'from/to are days (YYYY-MM-DD); below a number 0–1; limit 1–200');
      const range = rangeOf(parsed.data);
      if (typeof range === 'string') return invalid(reply, range);
      const tenants = scopeOf(request, parsed.data);
      const turns = await store.reviewQueue({
        ...range,
        ...(tenants ? { tenants } : {}),
        below: parsed.data.below ?? 0.7,
        limit: parsed.data.limit ?? 50,
      });
      return { turns: transcriptView(request.caller, turns) };
    },
  );

  app.post(
    '/admin/intents/labels',
    { onRequest: requireAdmin, config: { permission: 'intents.label', openapi: intentsLabelDoc } },
    async (request, reply) => {
      const parsed = labelBody.safeParse(request.body);
      if (!parsed.success) {
        return reply.code(400).send({
          error: {
            code: 'intents.invalid_label',
            message: 'Expected a JSON body {"eventId": string, "intent": string}',
            issues: issueLines(parsed.error, '').map(({ path, message }) => ({ path, message })),
          },
        });
      }
      const { eventId, intent } = parsed.data;
      const intents = await options.loadIntents();
      const names = intents.intents.map((i) => i.name);
      if (!names.includes(intent)) {
        return fail(
          reply,
          400,
          'intents.invalid_label',
          `"${intent}" is no intent of the dialog file; use one of: ${names.join(', ')}`,
        );
      }
      const turn = await store.turn(eventId);
      if (!turn || !inTenantScope(request.caller?.tenants ?? [ALL_TENANTS], turn.tenant)) {
        return fail(
          reply,
          404,
          'intents.turn_not_found',
          `No recognized customer turn "${eventId}" in your tenants`,
        );
      }
      const label = await store.label({
        eventId,
        tenant: turn.tenant,
        predicted: turn.predicted,
        intent,
        by: actorOf(request),
      });
      if (!label) {
        return fail(reply, 409, 'intents.label_approved', 'This turn is labelled and approved already');
      }
      if (options.audit) {
        await recordOperatorAction(options.audit, {
          actor: actorOf(request),
          action: 'intent.label',
          subject: `intent_label:${label.id}`,
          tenant: label.tenant,
          details: { intent, predicted: turn.predicted },
        });
      }
      return reply.code(201).send(label);
    },
  );

  /** The label, when the caller may see its tenant. */
  const labelInScope = async (request: FastifyRequest, id: string) => {
    const label = await store.labelById(id);
    return label && inTenantScope(request.caller?.tenants ?? [ALL_TENANTS], label.tenant) ? label : undefined;
  };
  const notPending = (reply: FastifyReply) =>
    fail(reply, 409, 'intents.label_not_pending', 'This label was approved or rejected already');

  const reload = () => {
    const run = options.reloadIntents;
    if (!run) return;
    classifier.reloading = true;
    // After the answer: retraining is CPU work the approval need not wait for.
    setImmediate(() => {
      run()
        .then((examples) => {
          classifier.examples = examples;
          classifier.reloadedAt = new Date().toISOString();
        })
        .catch((error) => logger.error({ event: 'intent.reload_failed', err: error }, 'intent reload failed'))
        .finally(() => {
          classifier.reloading = false;
        });
    });
  };

  app.post<{ Params: { id: string } }>(
    '/admin/intents/labels/:id/approve',
    { onRequest: requireAdmin, config: { permission: 'intents.manage', openapi: intentsApproveDoc } },
    async (request, reply) => {
      const found = await labelInScope(request, request.params.id);
      if (!found) return fail(reply, 404, 'intents.label_not_found', 'No such label in your tenants');
      if (found.status !== 'pending') return notPending(reply);
      const turn = await store.turn(found.eventId);
      if (!turn?.text) {
        return fail(
          reply,
          409,
          'intents.text_gone',
          "The turn's message is no longer stored (retention or erasure): nothing to learn from. Reject the label.",
        );
      }
      // The training file is config: personal data never goes in, only its placeholders.
      const example = maskPii(turn.text).trim();
      const label = await store.approve(found.id, actorOf(request), example);
      if (!label) return notPending(reply);
      if (options.audit) {
        await recordOperatorAction(options.audit, {
          actor: actorOf(request),
          action: 'intent.label.approve',
          subject: `intent_label:${label.id}`,
          tenant: label.tenant,
          details: { intent: label.intent, predicted: label.predicted, labelledBy: label.labelledBy },
        });
      }
      let examples: number;
      try {
        examples = await exportLearnedExamples(store, options.examplesFile);
      } catch (error) {
        // The approval is recorded; the file is written whole from the database by the next approval
        // or `hub intents labels export`, once it can be.
        logger.error({ err: error, file: options.examplesFile }, 'intent examples file not written');
        return fail(
          reply,
          500,
          'intents.examples_file_unwritable',
          `The label is approved, but ${options.examplesFile} could not be written (dialog.examplesFile); fix its folder's permissions and run hub intents labels export`,
        );
      }
      reload();
      return { label, examples, examplesFile: options.examplesFile, classifier };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/intents/labels/:id/reject',
    { onRequest: requireAdmin, config: { permission: 'intents.manage', openapi: intentsRejectDoc } },
    async (request, reply) => {
      const found = await labelInScope(request, request.params.id);
      if (!found) return fail(reply, 404, 'intents.label_not_found', 'No such label in your tenants');
      const label = await store.reject(found.id, actorOf(request));
      if (!label) return notPending(reply);
      if (options.audit) {
        await recordOperatorAction(options.audit, {
          actor: actorOf(request),
          action: 'intent.label.reject',
          subject: `intent_label:${label.id}`,
          tenant: label.tenant,
          details: { intent: label.intent },
        });
      }
      return { label };
    },
  );

  app.post(
    '/admin/intents/evaluations',
    { onRequest: requireAdmin, config: { permission: 'intents.manage', openapi: intentsEvaluateDoc } },
    async (request, reply) => {
      if (evaluating) {
        return fail(reply, 409, 'intents.evaluation_running', 'An evaluation runs already; wait for it');
      }
      evaluating = true;
      const requestedBy = actorOf(request);
      let intents: IntentConfig;
      let id: string;
      try {
        intents = await options.loadIntents();
        id = await store.startEvaluation({ dataset: options.dataset, source: 'console', requestedBy });
      } catch (error) {
        evaluating = false;
        throw error;
      }
      // In the background, after the answer: one model trained per fold, requests served between folds.
      setImmediate(() => {
        void (async () => {
          try {
            const figures = await evaluateExamplesInTurns(configExamples(intents), { model: intents.model });
            await store.finishEvaluation(id, figures);
          } catch (error) {
            await store
              .failEvaluation(id, error instanceof Error ? error.message : String(error))
              .catch(() => undefined);
          } finally {
            evaluating = false;
          }
        })();
      });
      if (options.audit) {
        await recordOperatorAction(options.audit, {
          actor: requestedBy,
          action: 'intent.evaluate',
          subject: `intent_evaluation:${id}`,
          details: { dataset: options.dataset },
        });
      }
      return reply.code(202).send({ id, status: 'running' as const });
    },
  );
}
