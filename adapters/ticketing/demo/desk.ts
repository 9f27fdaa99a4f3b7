import { type Kysely, sql, type Transaction } from 'kysely';
import type { AtRest } from '../../../core/privacy/at-rest';
import { ALL_TENANTS } from '../../../core/security/permissions';
import { atRestOf } from '../../../core/store/at-rest';
import type { Database } from '../../../core/store/schema';
import { type TicketDatabase, ticketDb } from '../../../core/tickets/schema';
import type { TicketDraft } from '../../../core/types';
import { openComment, openDraft, openSubject, sealComment } from './at-rest';

export interface DeskComment {
  id: string;
  author: string;
  text: string;
  public: boolean;
  at: string;
  /** What an agent's comment records (migration 0015); absent on the bot's and the customer's. */
  kind?: DeskCommentKind;
  /** The agent who wrote it. */
  agent?: string;
}

/** An agent's action as a comment: `note` is internal and never reaches the customer. */
export type DeskCommentKind = DeskAction | 'note';

export interface DeskTicket {
  id: string;
  /** The hub's reference (HUB-...): the ticket's idempotency key. */
  reference: string;
  subject: string;
  status: string;
  priority: string;
  category: string;
  assignee?: string;
  tenant: string;
  channel: string;
  /** The bot's case summary, as the ticket was opened with (core/tickets/draft.ts). */
  summary: string;
  /** What the bot understood: the intent, the slots it filled, the entities the customer named. */
  intent?: string;
  slots: Record<string, unknown>;
  entities: Record<string, string[]>;
  /** The conversation before the handoff, as the ticket was opened with. */
  transcript: TicketDraft['transcript'];
  comments: DeskComment[];
  createdAt: string;
  updatedAt: string;
}

export type DeskAction = 'reply' | 'assign' | 'solve' | 'close';

/** The most open tickets one list returns beside the newest. */
const OPEN_LIMIT = 500;

export class DeskError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The agent side of the embedded helpdesk (tables demo_tickets, demo_ticket_comments). Each action
 * writes one comment row, public for a reply and an internal note otherwise; its id names the
 * change on the bus.
 */
export class DemoDesk {
  private readonly db: Kysely<TicketDatabase>;
  private readonly atRest: AtRest;

  constructor(db: Kysely<Database>) {
    this.db = ticketDb(db);
    this.atRest = atRestOf(db);
  }

  /**
   * The newest `limit` tickets, and every ticket still waiting or open (up to `OPEN_LIMIT`) however
   * old: a queue must not lose a waiting customer behind newer solved tickets. `tenants` keeps to a
   * caller's scope in the query, so another tenant's tickets never crowd theirs out.
   */
  async list(limit = 50, tenants?: readonly string[]): Promise<DeskTicket[]> {
    const scoped = tenants && !tenants.includes(ALL_TENANTS);
    if (scoped && tenants.length === 0) return [];
    const base = () => {
      const query = this.db.selectFrom('demo_tickets').selectAll();
      return scoped ? query.where('tenant', 'in', [...tenants]) : query;
    };
    const [newest, open] = await Promise.all([
      base().orderBy('id', 'desc').limit(limit).execute(),
      base().where('status', 'in', ['new', 'open']).orderBy('id', 'desc').limit(OPEN_LIMIT).execute(),
    ]);
    const byId = new Map([...newest, ...open].map((row) => [String(row.id), row]));
    const rows = [...byId.values()].sort((a, b) => Number(b.id) - Number(a.id));
    if (rows.length === 0) return [];
    const comments = await this.db
      .selectFrom('demo_ticket_comments')
      .selectAll()
      .where(
        'ticket_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('id')
      .execute();
    return rows.map((row) =>
      toTicket(
        this.atRest,
        row,
        comments.filter((c) => String(c.ticket_id) === String(row.id)),
      ),
    );
  }

  async get(id: string): Promise<DeskTicket | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const row = await this.db.selectFrom('demo_tickets').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const comments = await this.db
      .selectFrom('demo_ticket_comments')
      .selectAll()
      .where('ticket_id', '=', id)
      .orderBy('id')
      .execute();
    return toTicket(this.atRest, row, comments);
  }

  /**
   * Apply an agent's action in one transaction and run `announce` inside it with the comment id,
   * so a failed publish leaves no half-done action behind (the agent just tries again).
   * Returns undefined when the action changes nothing (solving a solved ticket).
   */
  async act<T>(
    id: string,
    action: DeskAction,
    input: DeskInput,
    announce: (commentId: string) => Promise<T>,
  ): Promise<T | undefined> {
    if (!/^\d{1,18}$/.test(id)) throw new DeskError(404, 'desk.not_found', `No demo ticket ${id}`);
    return this.db.transaction().execute(async (trx) => {
      const ticket = await trx
        .selectFrom('demo_tickets')
        .select(['id', 'status', 'assignee'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!ticket) throw new DeskError(404, 'desk.not_found', `No demo ticket ${id}`);
      if (ticket.status === 'closed') {
        throw new DeskError(
          409,
          'desk.closed',
          `Ticket ${id} is closed; a closed ticket takes no more changes`,
        );
      }
      const target = action === 'solve' ? 'solved' : action === 'close' ? 'closed' : undefined;
      if (target && ticket.status === target) return undefined;
      const changes =
        action === 'reply' || action === 'assign'
          ? {
              status: 'open',
              assignee: action === 'assign' ? input.agent : (ticket.assignee ?? input.agent),
            }
          : { status: target ?? ticket.status };
      await trx
        .updateTable('demo_tickets')
        .set({ ...changes, updated_at: sql`now()` })
        .where('id', '=', id)
        .execute();
      const commentId = await addComment(this.atRest, trx, id, action, input);
      return announce(commentId);
    });
  }

  /**
   * An agent's internal note: stored on the ticket for the other agents, never published to the
   * conversation. A closed ticket takes none, like any other change.
   */
  async note(id: string, input: { agent: string; text: string }): Promise<DeskComment> {
    if (!/^\d{1,18}$/.test(id)) throw new DeskError(404, 'desk.not_found', `No demo ticket ${id}`);
    return this.db.transaction().execute(async (trx) => {
      const ticket = await trx
        .selectFrom('demo_tickets')
        .select(['id', 'status'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!ticket) throw new DeskError(404, 'desk.not_found', `No demo ticket ${id}`);
      if (ticket.status === 'closed') {
        throw new DeskError(
          409,
          'desk.closed',
          `Ticket ${id} is closed; a closed ticket takes no more notes`,
        );
      }
      await trx.updateTable('demo_tickets').set({ updated_at: sql`now()` }).where('id', '=', id).execute();
      const row = await trx
        .insertInto('demo_ticket_comments')
        .values({
          ticket_id: id,
          author: 'agent',
          text: sealComment(this.atRest, id, input.text),
          public: false,
          kind: 'note',
          agent: input.agent,
        })
        .returning(['id', 'at'])
        .executeTakeFirstOrThrow();
      return {
        id: String(row.id),
        author: 'agent',
        text: input.text,
        public: false,
        at: new Date(row.at).toISOString(),
        kind: 'note',
        agent: input.agent,
      };
    });
  }
}

export interface DeskInput {
  /** Who the action is for: the agent who replies, takes, solves; for an assignment, the new assignee. */
  agent: string;
  text?: string;
  /** Who assigned the ticket, when it is not the assignee themselves (a supervisor's assignment). */
  by?: string;
}

/**
 * What the customer asked last: their newest comment on the ticket, else their newest line before
 * the handoff — passing over a message that only asks for a person ("I want to talk to a human"),
 * which is why the ticket exists, not what it is about.
 */
export function lastCustomerQuestion(ticket: DeskTicket): string | undefined {
  const said = [
    ...ticket.transcript.filter((line) => line.role === 'customer').map((line) => line.text),
    // A comment's attachment lines are for the agent, not a question.
    ...ticket.comments
      .filter((c) => c.author === 'customer')
      .map((c) => c.text.split('\nAttachments (')[0] ?? ''),
  ]
    .map((text) => text.trim())
    .filter(Boolean);
  return said.findLast((text) => !asksOnlyForAPerson(text)) ?? said.at(-1);
}

const PERSON = /\b(human|agent|person|representative|operator|someone|somebody|staff)\b|人工|客服|真人/i;

function asksOnlyForAPerson(text: string): boolean {
  return PERSON.test(text) && text.split(/\s+/).length <= 8 && !/\d/.test(text);
}

async function addComment(
  atRest: AtRest,
  trx: Transaction<TicketDatabase>,
  ticketId: string,
  action: DeskAction,
  input: DeskInput,
): Promise<string> {
  const note =
    action === 'assign'
      ? input.by && input.by !== input.agent
        ? `${input.by} assigned the ticket to ${input.agent}.`
        : `${input.agent} took the ticket.`
      : action === 'solve'
        ? `${input.agent} solved the ticket.`
        : `${input.agent} closed the ticket.`;
  const row = await trx
    .insertInto('demo_ticket_comments')
    .values({
      ticket_id: ticketId,
      author: 'agent',
      text: sealComment(atRest, ticketId, action === 'reply' ? (input.text ?? '') : note),
      public: action === 'reply',
      kind: action,
      agent: input.by ?? input.agent,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

type TicketRow = {
  id: string;
  idempotency_key: string;
  tenant: string;
  subject: string;
  status: string;
  priority: string;
  category: string;
  assignee: string | null;
  draft: TicketDraft | string;
  created_at: Date;
  updated_at: Date;
};

type CommentRow = {
  id: string;
  ticket_id: string;
  author: string;
  text: string;
  public: boolean;
  at: Date;
  kind: string | null;
  agent: string | null;
};

const COMMENT_KINDS = new Set<string>(['reply', 'assign', 'solve', 'close', 'note']);

function toTicket(atRest: AtRest, row: TicketRow, comments: CommentRow[]): DeskTicket {
  const draft = openDraft(atRest, row);
  return {
    id: String(row.id),
    reference: row.idempotency_key,
    subject: openSubject(atRest, row),
    status: row.status,
    priority: row.priority,
    category: row.category,
    ...(row.assignee ? { assignee: row.assignee } : {}),
    tenant: row.tenant,
    channel: draft.conversation?.channel ?? draft.customer?.channel ?? '',
    summary: draft.summary,
    ...(draft.intent ? { intent: draft.intent } : {}),
    slots: draft.slots ?? {},
    entities: draft.entities ?? {},
    transcript: draft.transcript ?? [],
    comments: comments.map((c) => ({
      id: String(c.id),
      author: c.author,
      text: openComment(atRest, c),
      public: c.public,
      at: new Date(c.at).toISOString(),
      ...(c.kind && COMMENT_KINDS.has(c.kind) ? { kind: c.kind as DeskCommentKind } : {}),
      ...(c.agent ? { agent: c.agent } : {}),
    })),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
