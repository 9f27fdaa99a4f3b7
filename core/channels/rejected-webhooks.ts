import { type ColumnType, type Generated, type Kysely, sql } from 'kysely';
import type { AtRest } from '../privacy/at-rest';
import { atRestOf } from '../store/at-rest';
import type { Database } from '../store/schema';
import { cleanText } from './clean-text';

/** How much of a rejected body is kept: enough to see what was wrong, not a copy of a flood. */
export const REJECTED_BODY_CHARS = 8_192;
/** Rows kept; each insert deletes what is older than the newest this many. */
export const REJECTED_KEEP_ROWS = 1_000;

export interface RejectedWebhook {
  id: string;
  channel: string;
  reason: string;
  receivedAt: string;
  /** The body as received (UTF-8), control characters removed, cut at {@link REJECTED_BODY_CHARS}. */
  body: string;
  /** Size of the whole body as received. */
  bodyBytes: number;
  truncated: boolean;
}

/** Where a connector keeps a signed request it acknowledged but could not read (ChannelContext.rejected). */
export interface RejectedWebhookSink {
  record(entry: { channel: string; reason: string; body: Buffer | string }): Promise<void>;
}

interface RejectedWebhooksTable {
  id: Generated<string>;
  channel: string;
  reason: string;
  received_at: ColumnType<Date, string | undefined, never>;
  body: string;
  body_bytes: number;
  truncated: boolean;
}

interface RejectedDatabase {
  rejected_webhooks: RejectedWebhooksTable;
}

/** The row id is not known before the insert: a body is bound to its table, column and channel. */
const bodyContext = (channel: string) => ({ table: 'rejected_webhooks', column: 'body', row: channel });

/** Table rejected_webhooks (migration 0008), bounded in rows and in body size. */
export class RejectedWebhookStore implements RejectedWebhookSink {
  private readonly db: Kysely<RejectedDatabase>;
  private readonly atRest: AtRest;

  constructor(
    db: Kysely<Database>,
    private readonly keepRows = REJECTED_KEEP_ROWS,
  ) {
    this.db = db as unknown as Kysely<RejectedDatabase>;
    this.atRest = atRestOf(db);
  }

  async record(entry: { channel: string; reason: string; body: Buffer | string }): Promise<void> {
    const text = typeof entry.body === 'string' ? entry.body : entry.body.toString('utf8');
    const bodyBytes = typeof entry.body === 'string' ? Buffer.byteLength(entry.body) : entry.body.length;
    const truncated = text.length > REJECTED_BODY_CHARS;
    const channel = cleanText(entry.channel).slice(0, 200);
    await this.db
      .insertInto('rejected_webhooks')
      .values({
        channel,
        reason: cleanText(entry.reason).slice(0, 200),
        // Cut first, then cleaned: a surrogate pair split by the cut is removed, not stored broken.
        // A platform's payload names its sender (a phone number, a user id): sealed like a message.
        body: this.atRest.seal(
          cleanText(truncated ? text.slice(0, REJECTED_BODY_CHARS) : text),
          bodyContext(channel),
        ),
        body_bytes: bodyBytes,
        truncated,
      })
      .execute();
    await sql`
      delete from rejected_webhooks
       where id <= (select id from rejected_webhooks order by id desc offset ${this.keepRows} limit 1)`.execute(
      this.db,
    );
  }

  /** Newest first; `channel` narrows to one channel. */
  async list(options: { channel?: string; limit?: number } = {}): Promise<RejectedWebhook[]> {
    let query = this.db
      .selectFrom('rejected_webhooks')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(options.limit ?? 100);
    if (options.channel) query = query.where('channel', '=', options.channel);
    const rows = await query.execute();
    return rows.map((row) => ({
      id: String(row.id),
      channel: row.channel,
      reason: row.reason,
      receivedAt: new Date(row.received_at).toISOString(),
      body: this.atRest.open(row.body, bodyContext(row.channel)),
      bodyBytes: row.body_bytes,
      truncated: row.truncated,
    }));
  }
}
