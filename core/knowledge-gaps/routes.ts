import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { utcDay } from '../analytics';
import { requireAdmin } from '../http/admin-auth';
import { errorResponse, type RouteDoc } from '../http/route-doc';
import type { PiiMasker } from '../privacy/mask';
import { issueLines } from '../resilience/zod-issues';
import { type AuditSink, recordOperatorAction } from '../security/audit';
import { actorOf } from '../security/caller';
import { ALL_TENANTS, inTenantScope } from '../security/permissions';
import { HubError } from '../types/errors';
import type { DraftAuthor, DraftStatus, KnowledgeDraft, KnowledgeDraftStore } from './drafts';
import type { KnowledgeGaps } from './gaps';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD');
const name = z.string().min(1).max(200);
/** The longest range one report may cover. */
const MAX_DAYS = 92;
/** Days a report covers when the query names none: the last week, today included. */
const DEFAULT_DAYS = 7;

const gapsQuery = z
  .object({
    from: day
      .optional()
      .describe(`First day, inclusive, YYYY-MM-DD (UTC); default ${DEFAULT_DAYS - 1} days before \`to\``),
    to: day.optional().describe('Last day, inclusive, YYYY-MM-DD (UTC); default today'),
    tenant: name.optional().describe('Only this tenant'),
    similarity: z.coerce
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Cosine similarity a question needs to join a cluster (0–1); default by embedder'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(200)
      .optional()
      .describe('Clusters, largest first (default 50)'),
  })
  .strict();

const text = (max: number) => z.string().max(max);
const question = z.string().trim().min(1).max(500);
const language = z.string().regex(/^[a-z]{2}$/, 'an ISO 639-1 code such as en or zh');

const draftBody = z
  .object({
    tenant: name.describe('The tenant whose customers asked'),
    language: language.describe('The entry’s language'),
    title: question.describe('The question the entry answers (its heading)'),
    questions: z.array(question).max(20).default([]).describe('Other wordings customers used'),
    questionIds: z
      .array(z.string().regex(/^[0-9a-f]{32}$/))
      .max(2_000)
      .optional()
      .describe('The gap questions this draft covers (`questionIds` of a gap)'),
    answer: text(8_000).default('').describe('The answer, pre-filled from an agent’s reply where one exists'),
  })
  .strict();

const draftChanges = z
  .object({
    title: question.optional(),
    language: language.optional(),
    questions: z.array(question).max(20).optional(),
    answer: text(8_000).optional(),
  })
  .strict();

const draftsQuery = z
  .object({
    status: z.enum(['draft', 'published', 'rejected']).optional(),
    tenant: name.optional(),
  })
  .strict();

const idParams = z.object({ id: z.string().uuid().describe('The draft’s id') });

const draftSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  language: z.string(),
  title: z.string(),
  questions: z.array(z.string()),
  questionIds: z.array(z.string()),
  answer: z.string(),
  status: z.enum(['draft', 'published', 'rejected']),
  createdBy: z.string(),
  createdByName: z.string(),
  createdAt: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  reviewedBy: z.string().nullable(),
  reviewedByName: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  entryId: z.string(),
});

const gapSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  language: z.string().nullable(),
  question: z.string(),
  count: z.number(),
  unanswered: z.number(),
  unhelpful: z.number(),
  firstAt: z.string(),
  lastAt: z.string(),
  examples: z.array(z.string()),
  questionIds: z.array(z.string()),
  trend: z.array(z.object({ day: z.string(), count: z.number() })),
  suggestedAnswer: z.object({ text: z.string(), at: z.string() }).optional(),
  open: z.number().describe('Questions no draft or published entry was written for yet'),
  drafts: z.array(z.object({ id: z.string(), status: z.string() })),
});

const invalidDraft = errorResponse(
  'knowledge.invalid_draft or knowledge.invalid_entry: the body is not a valid entry',
);
const notFound = errorResponse('knowledge.draft_not_found: no such draft in your tenants');
const closed = errorResponse('knowledge.draft_closed: the draft is already published or rejected');

export const gapsDoc: RouteDoc = {
  summary: 'Knowledge gaps: clusters of questions the bot could not answer',
  description:
    'Questions the bot answered "I don\'t know" to, or whose answer the customer said did not help, in the range, clustered by the configured embedder (greedy centroid at a cosine threshold, per tenant and language). Each cluster: count, masked example wordings, a per-day trend, the representative question, an agent’s reply from one of its conversations where one exists, and the drafts already written for it.',
  tags: ['admin'],
  admin: true,
  query: gapsQuery,
  responses: {
    200: {
      description: 'The clusters, largest first',
      schema: z.object({
        from: day,
        to: day,
        similarity: z.number(),
        embedder: z.string(),
        questions: z.number(),
        truncated: z.boolean(),
        gaps: z.array(gapSchema),
      }),
    },
    400: errorResponse(`admin.invalid_query: a malformed day or a range over ${MAX_DAYS} days`),
  },
};

const draftsListDoc: RouteDoc = {
  summary: 'Knowledge drafts',
  description: 'Drafts of knowledge entries in your tenants, most recently changed first.',
  tags: ['admin'],
  admin: true,
  query: draftsQuery,
  responses: {
    200: { description: 'Drafts', schema: z.object({ drafts: z.array(draftSchema) }) },
    400: errorResponse('admin.invalid_query'),
  },
};

const draftCreateDoc: RouteDoc = {
  summary: 'Draft a knowledge entry',
  description:
    'Starts a draft for a gap. Questions and the pre-filled answer are masked (personal data becomes placeholders) before they are stored.',
  tags: ['admin'],
  admin: true,
  body: { contentTypes: ['application/json'], schema: draftBody, required: true },
  responses: { 201: { description: 'The draft', schema: draftSchema }, 400: invalidDraft },
};

const draftGetDoc: RouteDoc = {
  summary: 'One knowledge draft',
  tags: ['admin'],
  admin: true,
  params: idParams,
  responses: { 200: { description: 'The draft', schema: draftSchema }, 404: notFound },
};

const draftPatchDoc: RouteDoc = {
  summary: 'Edit a knowledge draft',
  description:
    'Changes the question, other wordings (masked), language or answer (kept as written) of a draft.',
  tags: ['admin'],
  admin: true,
  params: idParams,
  body: { contentTypes: ['application/json'], schema: draftChanges, required: true },
  responses: {
    200: { description: 'The draft', schema: draftSchema },
    400: invalidDraft,
    404: notFound,
    409: closed,
  },
};

const draftPublishDoc: RouteDoc = {
  summary: 'Publish a knowledge draft',
  description:
    'The draft becomes an entry of the knowledge base (id `kb-draft-<id>#entry`, source `knowledge-drafts/<id>`): this process’s index takes it in before the answer, other workers within their poll interval. On the audit trail as operator.knowledge.publish.',
  tags: ['admin'],
  admin: true,
  params: idParams,
  responses: {
    200: { description: 'The published draft', schema: draftSchema },
    400: invalidDraft,
    404: notFound,
    409: closed,
  },
};

const draftRejectDoc: RouteDoc = {
  summary: 'Reject a knowledge draft',
  description: 'The draft is closed without publishing. On the audit trail as operator.knowledge.reject.',
  tags: ['admin'],
  admin: true,
  params: idParams,
  responses: { 200: { description: 'The rejected draft', schema: draftSchema }, 404: notFound, 409: closed },
};

export interface KnowledgeGapRoutesOptions {
  gaps: KnowledgeGaps;
  drafts: KnowledgeDraftStore;
  masker: PiiMasker;
  audit: AuditSink;
  now?: () => Date;
}

/**
 * The console's knowledge gaps page: `GET /admin/knowledge/gaps`, drafts (`knowledge.draft`:
 * admin, supervisor, agent) and their review (`knowledge.publish`: admin, supervisor), each in the
 * caller's tenant scope.
 */
export function registerKnowledgeGapRoutes(app: FastifyInstance, options: KnowledgeGapRoutesOptions): void {
  const { gaps, drafts, masker, audit } = options;
  const queryTenant = (request: FastifyRequest) =>
    (request.query as { tenant?: unknown }).tenant as string | undefined;

  app.get(
    '/admin/knowledge/gaps',
    {
      onRequest: requireAdmin,
      config: { permission: 'knowledge.draft', openapi: gapsDoc, tenantOf: queryTenant },
    },
    async (request, reply) => {
      const parsed = gapsQuery.safeParse(request.query);
      if (!parsed.success) return invalidQuery(reply, parsed.error);
      const to = parsed.data.to ?? utcDay(options.now?.() ?? new Date());
      const from = parsed.data.from ?? utcDay(new Date(Date.parse(to) - (DEFAULT_DAYS - 1) * 86_400_000));
      const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
      if (!(span >= 0 && span < MAX_DAYS)) {
        return reply.code(400).send({
          error: {
            code: 'admin.invalid_query',
            message: `to must be on or after from, at most ${MAX_DAYS} days`,
          },
        });
      }
      const tenants = parsed.data.tenant ? [parsed.data.tenant] : scopeOf(request);
      const report = await gaps.report({
        from,
        to,
        ...(tenants ? { tenants } : {}),
        ...(parsed.data.similarity !== undefined ? { similarity: parsed.data.similarity } : {}),
        ...(parsed.data.limit !== undefined ? { limit: parsed.data.limit } : {}),
      });
      const written = await drafts.list({ ...(tenants ? { tenants } : {}), limit: 1_000 });
      const withDrafts = report.gaps.map((gap) => {
        const ids = new Set(gap.questionIds);
        const mine = written.filter(
          (d) => d.tenant === gap.tenant && d.questionIds.some((id) => ids.has(id)),
        );
        // Questions a live draft or entry was written for; those asked since are still open.
        const covered = new Set(
          mine
            .filter((d) => d.status !== 'rejected')
            .flatMap((d) => d.questionIds.filter((id) => ids.has(id))),
        );
        return {
          ...gap,
          open: gap.count - covered.size,
          drafts: mine.map((d) => ({ id: d.id, status: d.status })),
        };
      });
      // What still needs an entry first; a group fully covered by a draft or an entry sinks.
      withDrafts.sort((a, b) => Number(b.open > 0) - Number(a.open > 0));
      return { ...report, gaps: withDrafts };
    },
  );

  app.get(
    '/admin/knowledge/drafts',
    {
      onRequest: requireAdmin,
      config: { permission: 'knowledge.draft', openapi: draftsListDoc, tenantOf: queryTenant },
    },
    async (request, reply) => {
      const parsed = draftsQuery.safeParse(request.query);
      if (!parsed.success) return invalidQuery(reply, parsed.error);
      const tenants = parsed.data.tenant ? [parsed.data.tenant] : scopeOf(request);
      const list = await drafts.list({
        ...(tenants ? { tenants } : {}),
        ...(parsed.data.status ? { status: parsed.data.status as DraftStatus } : {}),
      });
      return { drafts: list };
    },
  );

  app.post(
    '/admin/knowledge/drafts',
    { onRequest: requireAdmin, config: { permission: 'knowledge.draft', openapi: draftCreateDoc } },
    async (request, reply) => {
      const parsed = draftBody.safeParse(request.body);
      if (!parsed.success) return invalidBody(reply, parsed.error);
      const body = parsed.data;
      inScope(request, body.tenant);
      // Customers' words and an agent's reply to them: personal data never reaches the table.
      const mask = (value: string) => masker.mask(value, body.tenant);
      const draft = await drafts.create(
        {
          tenant: body.tenant,
          language: body.language,
          title: mask(body.title),
          questions: body.questions.map(mask),
          ...(body.questionIds ? { questionIds: body.questionIds } : {}),
          answer: mask(body.answer),
        },
        authorOf(request),
      );
      return reply.code(201).send(draft);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/knowledge/drafts/:id',
    { onRequest: requireAdmin, config: { permission: 'knowledge.draft', openapi: draftGetDoc } },
    async (request) => visible(request, await drafts.get(draftId(request))),
  );

  app.patch<{ Params: { id: string } }>(
    '/admin/knowledge/drafts/:id',
    { onRequest: requireAdmin, config: { permission: 'knowledge.draft', openapi: draftPatchDoc } },
    async (request, reply) => {
      const draft = visible(request, await drafts.get(draftId(request)));
      const parsed = draftChanges.safeParse(request.body);
      if (!parsed.success) return invalidBody(reply, parsed.error);
      const { questions, ...rest } = parsed.data;
      return drafts.update(
        draft.id,
        { ...rest, ...(questions ? { questions: questions.map((q) => masker.mask(q, draft.tenant)) } : {}) },
        authorOf(request),
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/knowledge/drafts/:id/publish',
    { onRequest: requireAdmin, config: { permission: 'knowledge.publish', openapi: draftPublishDoc } },
    async (request) => {
      const draft = visible(request, await drafts.get(draftId(request)));
      const published = await drafts.publish(draft.id, authorOf(request));
      await recordOperatorAction(audit, {
        actor: actorOf(request),
        action: 'knowledge.publish',
        subject: `knowledge:${published.entryId}`,
        tenant: published.tenant,
        details: { draft: published.id, language: published.language, createdBy: published.createdBy },
      });
      return published;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/knowledge/drafts/:id/reject',
    { onRequest: requireAdmin, config: { permission: 'knowledge.publish', openapi: draftRejectDoc } },
    async (request) => {
      const draft = visible(request, await drafts.get(draftId(request)));
      const rejected = await drafts.reject(draft.id, authorOf(request));
      await recordOperatorAction(audit, {
        actor: actorOf(request),
        action: 'knowledge.reject',
        subject: `knowledge:${rejected.entryId}`,
        tenant: rejected.tenant,
        details: { draft: rejected.id, createdBy: rejected.createdBy },
      });
      return rejected;
    },
  );
}

function authorOf(request: FastifyRequest): DraftAuthor {
  return { actor: actorOf(request), name: request.caller?.name ?? actorOf(request) };
}

/** The caller's tenants, or undefined for every tenant. */
function scopeOf(request: FastifyRequest): string[] | undefined {
  const scope = request.caller?.tenants ?? [ALL_TENANTS];
  return scope.includes(ALL_TENANTS) ? undefined : scope;
}

function inScope(request: FastifyRequest, tenant: string): void {
  if (!inTenantScope(request.caller?.tenants ?? [ALL_TENANTS], tenant)) {
    throw new HubError('access.tenant', `Tenant ${tenant} is outside your scope.`, { status: 403 });
  }
}

function draftId(request: FastifyRequest): string {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success)
    throw new HubError('knowledge.draft_not_found', 'No such knowledge draft.', { status: 404 });
  return parsed.data.id;
}

/** A draft of another tenant reads as missing: its existence is not the caller's business. */
function visible(request: FastifyRequest, draft: KnowledgeDraft | undefined): KnowledgeDraft {
  if (!draft || !inTenantScope(request.caller?.tenants ?? [ALL_TENANTS], draft.tenant)) {
    throw new HubError('knowledge.draft_not_found', 'No such knowledge draft.', { status: 404 });
  }
  return draft;
}

function invalidQuery(reply: import('fastify').FastifyReply, error: z.ZodError) {
  return reply.code(400).send({
    error: {
      code: 'admin.invalid_query',
      message: issueLines(error, '')
        .map(({ path, message }) => (path ? `${path}: ${message}` : message))
        .join('; '),
    },
  });
}

function invalidBody(reply: import('fastify').FastifyReply, error: z.ZodError) {
  return reply.code(400).send({
    error: {
      code: 'knowledge.invalid_draft',
      message: 'Expected a draft: {"tenant", "language", "title", "questions"?, "answer"?}',
      issues: issueLines(error, '').map(({ path, message }) => ({ path, message })),
    },
  });
}
