import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { OUTCOMES } from '../analytics/outcome';
import { requireAdmin } from '../http/admin-auth';
import { errorResponse, type RouteDoc } from '../http/route-doc';
import { LOOKUP_PREFIX } from '../privacy/at-rest';
import { type AuditSink, recordOperatorAction } from '../security/audit';
import { actorOf, type Caller } from '../security/caller';
import { ALL_TENANTS, inTenantScope } from '../security/permissions';
import { transcriptView } from '../security/transcripts';
import type { Database } from '../store/schema';
import {
  type ConversationFilter,
  conversationById,
  conversationTranscript,
  type PassageLookup,
  searchConversations,
  type TranscriptLine,
} from './conversations';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD');
const name = z.string().trim().min(1).max(200);
/** The most rows one page may ask for. */
const MAX_PAGE_SIZE = 100;

const searchSchema = z
  .object({
    customer: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .optional()
      .describe('A customer uuid, a platform user id, or <channel>:<platform user id>'),
    channel: name.optional().describe('Only this channel id'),
    intent: name.optional().describe('Only conversations with a customer turn of this intent'),
    outcome: z
      .enum(OUTCOMES)
      .optional()
      .describe('What became of its latest conversation of the business metrics'),
    rating: z
      .string()
      .regex(/^[1-5](-[1-5])?$/, 'a rating 1–5, or a range such as 1-2')
      .optional()
      .describe('Its latest satisfaction rating (thumbs: 👍 5, 👎 1): 4, or a range 1-2'),
    from: day.optional().describe('Active on or after this day, YYYY-MM-DD (UTC)'),
    to: day.optional().describe('Active on or before this day, YYYY-MM-DD (UTC)'),
    tenant: name.optional().describe('Only this tenant'),
    page: z.coerce.number().int().min(1).max(10_000).default(1).describe('From 1'),
    pageSize: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .default(25)
      .describe(`Rows per page, at most ${MAX_PAGE_SIZE}`),
  })
  .strict();

const summarySchema = z.object({
  id: z.string().describe('The conversation key as stored: a keyed hash, which names nobody'),
  tenant: z.string(),
  channel: z.string(),
  customerId: z.string().nullable(),
  startedAt: z.string(),
  lastAt: z.string(),
  turns: z.number().int(),
  lastIntent: z.string().nullable(),
  outcome: z.enum(OUTCOMES).nullable(),
  rating: z.number().nullable(),
});

const traceSchema = z.object({
  intent: z.object({ name: z.string(), confidence: z.number(), tier: z.string() }).optional(),
  decision: z.string().optional(),
  retrieved: z.array(
    z.object({
      id: z.string(),
      score: z.number(),
      title: z.string().optional(),
      section: z.string().optional(),
      text: z.string().optional(),
    }),
  ),
  model: z.string().optional(),
  citations: z.array(z.object({ id: z.string(), title: z.string().optional(), url: z.string().optional() })),
  source: z.string().optional(),
  actions: z.array(z.string()),
  latencyMs: z.number().optional(),
  outcome: z.string().optional(),
  language: z.string().optional(),
  feedback: z.string().optional(),
  rating: z.number().optional(),
});

const lineSchema = z.object({
  who: z.enum(['customer', 'bot', 'agent']),
  kind: z.string(),
  at: z.string(),
  text: z.string(),
  trace: traceSchema.optional(),
});

const INVALID = 'admin.invalid_query';

export const conversationsDoc: RouteDoc = {
  summary: 'Search conversations by customer, channel, intent, outcome, rating and date',
  description:
    'One row per conversation (channel, tenant and platform conversation), newest activity first, a page at a time. The outcome and rating are those of its latest conversation of the business metrics (README "Business metrics"). A customer is named by uuid or platform user id, found only in the tenants the operator may see.',
  tags: ['admin'],
  admin: true,
  query: searchSchema,
  responses: {
    200: {
      description: 'One page of conversations',
      schema: z.object({
        conversations: z.array(summarySchema),
        page: z.number().int(),
        pageSize: z.number().int(),
        hasMore: z.boolean(),
      }),
    },
    400: errorResponse(
      `${INVALID}: a malformed filter, an unknown outcome, from after to, an unknown parameter`,
    ),
  },
};

export const conversationDoc: RouteDoc = {
  summary: 'One conversation: its transcript with the trace of each customer turn',
  description:
    "Transcript lines (who, when, text), oldest first (the newest 500), each customer turn with what the bot did: intent and confidence, decision, retrieved passages with scores, model, citations, latency. An analyst reads the customer's personal data masked.",
  tags: ['admin'],
  admin: true,
  params: z.object({ id: z.string().describe('The conversation id from the search') }),
  responses: {
    200: {
      description: 'The conversation and its transcript',
      schema: z.object({ conversation: summarySchema, lines: z.array(lineSchema), truncated: z.boolean() }),
    },
    404: errorResponse('conversation.not_found: no such conversation in your tenants'),
  },
};

export interface ConversationRoutesOptions {
  abandonAfterMinutes: number;
  /** Titles and text of retrieved passages; without it a trace names passages by id (and cited ones by title). */
  passages?: PassageLookup;
  /** Where each transcript an operator opens is put on record (`operator.conversation.read`). */
  audit?: AuditSink;
  now?: () => Date;
}

/**
 * `GET /admin/conversations` and `GET /admin/conversations/:id` for operators who may read
 * conversations (conversations.read), in their tenant scope. Every text leaves through
 * `transcriptView`: an analyst reads personal data masked, in the transcript and in the passages.
 * Opening a transcript is on the audit trail; a search is not (it shows no customer's words).
 */
export function registerConversationRoutes(
  app: FastifyInstance,
  db: Kysely<Database>,
  options: ConversationRoutesOptions,
): void {
  const at = () => ({ now: options.now?.() ?? new Date(), abandonAfterMinutes: options.abandonAfterMinutes });

  app.get(
    '/admin/conversations',
    {
      onRequest: requireAdmin,
      config: {
        permission: 'conversations.read',
        openapi: conversationsDoc,
        tenantOf: (request) => (request.query as { tenant?: unknown }).tenant as string | undefined,
      },
    },
    async (request, reply) => {
      const invalid = (message: string) => reply.code(400).send({ error: { code: INVALID, message } });
      const parsed = searchSchema.safeParse(request.query);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.join('.') || 'query';
        return invalid(
          issue?.code === 'unrecognized_keys'
            ? `unknown parameter ${issue.keys.join(', ')}; use ${Object.keys(searchSchema.shape).join(', ')}`
            : `${field}: ${issue?.code === 'invalid_value' ? `one of ${OUTCOMES.join(', ')}` : issue?.message}`,
        );
      }
      const { page, pageSize, rating, ...rest } = parsed.data;
      if (rest.from && rest.to && rest.from > rest.to) return invalid('to must be on or after from');
      if (rest.from && Number.isNaN(Date.parse(rest.from))) return invalid('from: not a day of the calendar');
      if (rest.to && Number.isNaN(Date.parse(rest.to))) return invalid('to: not a day of the calendar');
      const filter: ConversationFilter = { ...rest };
      if (rating) {
        const [min, max = min] = rating.split('-').map(Number) as [number, number?];
        if (min > max) return invalid('rating: a range runs from low to high, e.g. 1-2');
        filter.rating = { min, max };
      }
      const scope = request.caller?.tenants ?? [ALL_TENANTS];
      if (!scope.includes(ALL_TENANTS)) filter.tenants = scope;
      const found = await searchConversations(db, filter, { page, pageSize }, at());
      return { ...found, page, pageSize };
    },
  );

  app.get(
    '/admin/conversations/:id',
    { onRequest: requireAdmin, config: { permission: 'conversations.read', openapi: conversationDoc } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const notFound = () =>
        reply.code(404).send({
          error: { code: 'conversation.not_found', message: 'No such conversation in your tenants.' },
        });
      if (!id.startsWith(LOOKUP_PREFIX) || id.length > 100) return notFound();
      const conversation = await conversationById(db, id, at());
      // Another tenant's conversation is answered as one that does not exist: its id says nothing.
      if (!conversation || !inTenantScope(request.caller?.tenants ?? [ALL_TENANTS], conversation.tenant)) {
        return notFound();
      }
      const transcript = await conversationTranscript(db, id, options.passages);
      // On record before the transcript leaves, as a file download is: who read which customer's words.
      if (options.audit) {
        await recordOperatorAction(options.audit, {
          actor: actorOf(request),
          action: 'conversation.read',
          subject: `conversation:${id}`,
          tenant: conversation.tenant,
          details: { role: request.caller?.role ?? 'admin', lines: transcript.lines.length, ip: request.ip },
        });
      }
      return {
        conversation,
        lines: masked(request.caller, transcript.lines),
        truncated: transcript.truncated,
      };
    },
  );
}

/** The lines and the passages of their traces as the caller may read them. */
function masked(caller: Caller | undefined, lines: TranscriptLine[]): TranscriptLine[] {
  return transcriptView(caller, lines).map((line) => {
    if (!line.trace) return line;
    // Knowledge text is the company's own, but an article can quote a contact or an example customer.
    const retrieved = line.trace.retrieved.map((passage) =>
      passage.text === undefined
        ? passage
        : (transcriptView(caller, [{ ...passage, text: passage.text }])[0] ?? passage),
    );
    return { ...line, trace: { ...line.trace, retrieved } };
  });
}
