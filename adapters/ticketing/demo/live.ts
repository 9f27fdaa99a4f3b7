import type { Kysely } from 'kysely';
import type { Logger } from '../../../core/log';
import type { Database } from '../../../core/store/schema';
import { type TicketDatabase, ticketDb } from '../../../core/tickets/schema';

/**
 * One change to a demo ticket, as the agent workspace's live stream sends it: which ticket, what
 * happened, and the ticket's status and assignee after it. Never any text: the workspace reads the
 * ticket itself (GET /admin/tickets) when it wants to show what changed.
 */
export interface DeskEvent {
  /** The comment that recorded the change: increasing, so a client can tell old from new. */
  seq: string;
  type: DeskEventType;
  ticketId: string;
  tenant: string;
  status: string;
  assignee?: string;
  at: string;
}

export type DeskEventType =
  | 'ticket.new'
  | 'ticket.taken'
  | 'ticket.replied'
  | 'ticket.note'
  | 'ticket.solved'
  | 'ticket.closed'
  | 'customer.message';

type Listener = (event: DeskEvent) => void;

const BATCH = 500;

/**
 * The changes to the embedded helpdesk's tickets, for the workspace's live stream. Every change is
 * a row of demo_ticket_comments (a new ticket's description, a customer's message, each agent
 * action), so the feed reads the rows past the last one it saw, once per `intervalMs` and only
 * while someone listens. Reading the table, not an in-process signal, is what lets it see the
 * tickets and customer comments a worker process writes: in a split deployment the api process
 * that holds the stream never runs the ticket worker.
 */
export class DeskFeed {
  private readonly db: Kysely<TicketDatabase>;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private polling = false;

  constructor(
    db: Kysely<Database>,
    private readonly options: { intervalMs: number; logger: Logger },
  ) {
    this.db = ticketDb(db);
  }

  /** Listen from now on; the returned function stops listening (the last one stops the polling). */
  async subscribe(listener: Listener): Promise<() => void> {
    if (this.last === undefined) this.last = await this.newest();
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.poll(), this.options.intervalMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Listening again starts from what is newest then, not from where this round stopped.
    this.last = undefined;
  }

  /** One read of the rows past the last seen; at most one at a time. Exposed for tests. */
  async poll(): Promise<void> {
    if (this.polling || this.last === undefined) return;
    this.polling = true;
    try {
      const rows = await this.db
        .selectFrom('demo_ticket_comments as c')
        .innerJoin('demo_tickets as t', 't.id', 'c.ticket_id')
        .select([
          'c.id',
          'c.ticket_id',
          'c.author',
          'c.public',
          'c.kind',
          'c.at',
          't.tenant',
          't.status',
          't.assignee',
        ])
        .where('c.id', '>', this.last)
        .orderBy('c.id')
        .limit(BATCH)
        .execute();
      for (const row of rows) {
        // The feed may have stopped while the read was under way.
        if (this.last === undefined) return;
        this.last = String(row.id);
        const type = eventTypeOf(row);
        if (!type) continue;
        const event: DeskEvent = {
          seq: String(row.id),
          type,
          ticketId: String(row.ticket_id),
          tenant: row.tenant,
          status: row.status,
          ...(row.assignee ? { assignee: row.assignee } : {}),
          at: new Date(row.at).toISOString(),
        };
        for (const listener of this.listeners) listener(event);
      }
    } catch (error) {
      // A missed round is caught up by the next: `last` moved only past what was sent.
      this.options.logger.warn({ err: error }, 'agent workspace feed: reading the ticket changes failed');
    } finally {
      this.polling = false;
    }
  }

  private async newest(): Promise<string> {
    const row = await this.db
      .selectFrom('demo_ticket_comments')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return row?.id == null ? '0' : String(row.id);
  }
}

const BY_KIND: Record<string, DeskEventType> = {
  reply: 'ticket.replied',
  note: 'ticket.note',
  assign: 'ticket.taken',
  solve: 'ticket.solved',
  close: 'ticket.closed',
};

/** What a comment row records; rows written before migration 0015 are told apart by author and visibility. */
function eventTypeOf(row: {
  author: string;
  public: boolean;
  kind: string | null;
}): DeskEventType | undefined {
  if (row.kind) return BY_KIND[row.kind];
  if (row.author === 'bot') return 'ticket.new';
  if (row.author === 'customer') return 'customer.message';
  if (row.author === 'agent' && row.public) return 'ticket.replied';
  return undefined;
}
