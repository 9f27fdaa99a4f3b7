import { type Kysely, sql } from 'kysely';
import type { AtRest } from '../../../core/privacy/at-rest';
import { atRestOf } from '../../../core/store/at-rest';
import type { TicketDatabase } from '../../../core/tickets/schema';
import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type Ticket,
  type TicketComment,
  type TicketDraft,
  type TicketingAdapter,
  type TicketPriority,
  type TicketRef,
  type TicketStatus,
} from '../../../core/types';
import { describeTicket } from '../describe';
import { openComment, openSubject, sealComment, sealTicket } from './at-rest';

/** The embedded helpdesk: tickets in the hub's own database (tables demo_tickets, demo_ticket_comments). */
export class DemoTicketing implements TicketingAdapter {
  readonly name = 'demo';

  private readonly atRest: AtRest;

  constructor(private readonly db: Kysely<TicketDatabase>) {
    this.atRest = atRestOf(db);
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    ctx.signal?.throwIfAborted();
    return this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('demo_tickets')
        .values({
          idempotency_key: ctx.idempotencyKey,
          tenant: ctx.tenant,
          ...sealTicket(this.atRest, ctx.idempotencyKey, { subject: draft.subject, draft }),
          status: 'new',
          priority: draft.priority,
          category: draft.category,
          tags: JSON.stringify(draft.tags),
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) {
        await trx
          .insertInto('demo_ticket_comments')
          .values({
            ticket_id: inserted.id,
            author: 'bot',
            text: sealComment(this.atRest, inserted.id, describeTicket(draft)),
            public: false,
          })
          .execute();
      }
      const row = await trx
        .selectFrom('demo_tickets')
        .select('id')
        .where('idempotency_key', '=', ctx.idempotencyKey)
        .executeTakeFirstOrThrow();
      return { externalId: String(row.id) };
    });
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    ctx.signal?.throwIfAborted();
    const id = await this.existing(externalId);
    await this.db.transaction().execute(async (trx) => {
      // Once per (ticket, idempotency key): a retried delivery finds the comment the first one wrote.
      const inserted = await trx
        .insertInto('demo_ticket_comments')
        .values({
          ticket_id: id,
          author: comment.author,
          text: sealComment(this.atRest, id, comment.text),
          public: comment.public,
          idempotency_key: ctx.idempotencyKey,
        })
        .onConflict((oc) => oc.columns(['ticket_id', 'idempotency_key']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) {
        await trx.updateTable('demo_tickets').set({ updated_at: sql`now()` }).where('id', '=', id).execute();
      }
    });
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    ctx.signal?.throwIfAborted();
    if (!/^\d+$/.test(externalId)) return undefined;
    const row = await this.db
      .selectFrom('demo_tickets')
      .selectAll()
      .where('id', '=', externalId)
      .executeTakeFirst();
    if (!row) return undefined;
    const comments = await this.db
      .selectFrom('demo_ticket_comments')
      .selectAll()
      .where('ticket_id', '=', externalId)
      .orderBy('id')
      .execute();
    return {
      externalId,
      subject: openSubject(this.atRest, row),
      status: row.status as TicketStatus,
      priority: row.priority as TicketPriority,
      tags: typeof row.tags === 'string' ? JSON.parse(row.tags) : row.tags,
      comments: comments.map((c) => ({
        author: c.author as TicketComment['author'],
        text: openComment(this.atRest, c),
        public: c.public,
        at: new Date(c.at).toISOString(),
      })),
    };
  }

  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    ctx.signal?.throwIfAborted();
    const id = await this.existing(externalId);
    await this.db
      .updateTable('demo_tickets')
      .set({ status, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }

  /** Tickets created by the demo adapter, newest first (for the CLI and tests). */
  async list(
    limit = 50,
  ): Promise<Array<{ id: string; subject: string; status: string; idempotencyKey: string }>> {
    const rows = await this.db
      .selectFrom('demo_tickets')
      .select(['id', 'subject', 'status', 'idempotency_key'])
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: String(r.id),
      subject: openSubject(this.atRest, r),
      status: r.status,
      idempotencyKey: r.idempotency_key,
    }));
  }

  private async existing(externalId: string): Promise<string> {
    const row = /^\d+$/.test(externalId)
      ? await this.db.selectFrom('demo_tickets').select('id').where('id', '=', externalId).executeTakeFirst()
      : undefined;
    if (!row)
      throw new AdapterError(AdapterErrorCodes.notFound, `demo ticket ${externalId} does not exist`, {
        status: 404,
      });
    return String(row.id);
  }
}
