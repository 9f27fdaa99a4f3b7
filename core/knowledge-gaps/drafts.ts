import { randomUUID } from 'node:crypto';
import { type ColumnType, type Kysely, sql } from 'kysely';
import { logger } from '../log';
import type { KnowledgeSource } from '../rag/source';
import type { Database } from '../store/schema';
import type { KnowledgeChunk } from '../types';
import { HubError } from '../types/errors';
import { entryChunks } from './entry';

export type DraftStatus = 'draft' | 'published' | 'rejected';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

interface KnowledgeDraftsTable {
  id: string;
  tenant: string;
  language: string;
  title: string;
  questions: ColumnType<string[], string, string>;
  question_ids: ColumnType<string[], string, string>;
  answer: string;
  status: DraftStatus;
  created_by: string;
  created_by_name: string;
  created_at: Timestamp;
  updated_by: string;
  updated_at: Timestamp;
  reviewed_by: string | null;
  reviewed_by_name: string | null;
  reviewed_at: Timestamp | null;
}

interface DraftsDatabase {
  knowledge_drafts: KnowledgeDraftsTable;
}

export interface KnowledgeDraft {
  id: string;
  tenant: string;
  language: string;
  /** The question the entry answers: its heading. */
  title: string;
  /** Other wordings (masked customer questions, or what the editor wrote): the entry's `Also asked:` list. */
  questions: string[];
  /** Pseudonyms of the gap questions the draft was written for (core/knowledge-gaps/gaps.ts). */
  questionIds: string[];
  answer: string;
  status: DraftStatus;
  /** Who drafted it, as the audit trail names them (`operator:<id>`), and their display name. */
  createdBy: string;
  createdByName: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  reviewedBy: string | null;
  reviewedByName: string | null;
  reviewedAt: string | null;
  /** The chunk ids it is in the knowledge base under, once published. */
  entryId: string;
}

export interface NewDraft {
  tenant: string;
  language: string;
  title: string;
  questions: string[];
  questionIds?: string[];
  answer: string;
}

/** Who acts: the audit trail's actor and the name shown in the console. */
export interface DraftAuthor {
  actor: string;
  name: string;
}

export type DraftChanges = Partial<Pick<NewDraft, 'title' | 'questions' | 'answer' | 'language'>>;

/** Called after an entry was published in this process, before the request is answered. */
export type PublishListener = () => Promise<void>;

/**
 * Table knowledge_drafts (migration 0013): drafts of knowledge entries, their review, and the
 * published entries themselves. Published rows are a knowledge source (core/rag/source.ts) that every
 * worker loads with the knowledge folder; a publish tells the listeners of this process at once, and
 * other processes see it on their next poll of {@link version}.
 */
export class KnowledgeDraftStore {
  private readonly db: Kysely<DraftsDatabase>;
  private readonly listeners = new Set<PublishListener>();

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<DraftsDatabase>;
  }

  async create(draft: NewDraft, by: DraftAuthor, now = new Date()): Promise<KnowledgeDraft> {
    const id = randomUUID();
    const content = { id, ...draft };
    // Checked at once, so a draft that could never be published is refused while it is written.
    if (draft.answer.trim()) entryChunks(content);
    await this.db
      .insertInto('knowledge_drafts')
      .values({
        id,
        tenant: draft.tenant,
        language: draft.language,
        title: draft.title,
        questions: JSON.stringify(draft.questions),
        question_ids: JSON.stringify(draft.questionIds ?? []),
        answer: draft.answer,
        status: 'draft',
        created_by: by.actor,
        created_by_name: by.name,
        created_at: now,
        updated_by: by.actor,
        updated_at: now,
      })
      .execute();
    return (await this.get(id)) as KnowledgeDraft;
  }

  async get(id: string): Promise<KnowledgeDraft | undefined> {
    const row = await this.db
      .selectFrom('knowledge_drafts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toDraft(row) : undefined;
  }

  async list(
    options: { tenants?: readonly string[]; status?: DraftStatus; limit?: number } = {},
  ): Promise<KnowledgeDraft[]> {
    let query = this.db.selectFrom('knowledge_drafts').selectAll();
    if (options.tenants) query = query.where('tenant', 'in', [...options.tenants]);
    if (options.status) query = query.where('status', '=', options.status);
    const rows = await query
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(options.limit ?? 200)
      .execute();
    return rows.map(toDraft);
  }

  /** Edit a draft; a published or rejected one is history and answers 409. */
  async update(
    id: string,
    changes: DraftChanges,
    by: DraftAuthor,
    now = new Date(),
  ): Promise<KnowledgeDraft> {
    const current = await this.required(id);
    if (current.status !== 'draft') throw notEditable(current);
    const next = { ...current, ...changes };
    if (next.answer.trim()) entryChunks({ ...next, id });
    await this.db
      .updateTable('knowledge_drafts')
      .set({
        title: next.title,
        language: next.language,
        questions: JSON.stringify(next.questions),
        answer: next.answer,
        updated_by: by.actor,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'draft')
      .execute();
    return this.required(id);
  }

  /**
   * Publish: the row becomes a knowledge entry (status `published`), then this process's listeners
   * (its workers' knowledge) take it in before the call returns. Only a draft with an answer.
   */
  async publish(id: string, by: DraftAuthor, now = new Date()): Promise<KnowledgeDraft> {
    const current = await this.required(id);
    if (current.status !== 'draft') throw notEditable(current);
    entryChunks(current);
    const updated = await this.db
      .updateTable('knowledge_drafts')
      .set({ status: 'published', ...reviewed(by, now) })
      .where('id', '=', id)
      .where('status', '=', 'draft')
      .returning('id')
      .executeTakeFirst();
    if (!updated) throw notEditable(await this.required(id));
    for (const listener of this.listeners) {
      // Published either way: a worker that could not take it in now does at its next poll.
      await listener().catch((error: unknown) =>
        logger.warn(
          { err: error, draft: id },
          'knowledge entry published; this process takes it in at its next poll',
        ),
      );
    }
    return this.required(id);
  }

  async reject(id: string, by: DraftAuthor, now = new Date()): Promise<KnowledgeDraft> {
    const current = await this.required(id);
    if (current.status !== 'draft') throw notEditable(current);
    await this.db
      .updateTable('knowledge_drafts')
      .set({ status: 'rejected', ...reviewed(by, now) })
      .where('id', '=', id)
      .where('status', '=', 'draft')
      .execute();
    return this.required(id);
  }

  /** Every published entry as chunks, oldest first. */
  async publishedChunks(): Promise<KnowledgeChunk[]> {
    const rows = await this.db
      .selectFrom('knowledge_drafts')
      .selectAll()
      .where('status', '=', 'published')
      .orderBy('reviewed_at')
      .orderBy('id')
      .execute();
    return rows.flatMap((row) => {
      const draft = toDraft(row);
      return entryChunks({ ...draft, updatedAt: draft.reviewedAt ?? draft.updatedAt });
    });
  }

  /** Changes whenever an entry is published: the count and the latest publication time. */
  async version(): Promise<string> {
    const row = await this.db
      .selectFrom('knowledge_drafts')
      .select([sql<string>`count(*)`.as('count'), sql<Date | null>`max(reviewed_at)`.as('latest')])
      .where('status', '=', 'published')
      .executeTakeFirstOrThrow();
    return `${row.count}:${row.latest ? new Date(row.latest).toISOString() : ''}`;
  }

  /** Listen for publications of this process (the workers' knowledge); returns the way to stop. */
  onPublish(listener: PublishListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The published entries as a knowledge source for `createKnowledge` (core/rag). */
  source(): KnowledgeSource {
    return {
      name: 'knowledge drafts',
      chunks: () => this.publishedChunks(),
      version: () => this.version(),
      onChange: (listener) => this.onPublish(listener),
    };
  }

  private async required(id: string): Promise<KnowledgeDraft> {
    const draft = await this.get(id);
    if (!draft) throw new HubError('knowledge.draft_not_found', `No knowledge draft ${id}.`, { status: 404 });
    return draft;
  }
}

function reviewed(by: DraftAuthor, now: Date) {
  return {
    reviewed_by: by.actor,
    reviewed_by_name: by.name,
    reviewed_at: now,
    updated_by: by.actor,
    updated_at: now,
  };
}

function notEditable(draft: KnowledgeDraft): HubError {
  return new HubError('knowledge.draft_closed', `Draft ${draft.id} is already ${draft.status}.`, {
    status: 409,
  });
}

function toDraft(row: {
  id: string;
  tenant: string;
  language: string;
  title: string;
  questions: string[] | string;
  question_ids: string[] | string;
  answer: string;
  status: DraftStatus;
  created_by: string;
  created_by_name: string;
  created_at: Date | string;
  updated_by: string;
  updated_at: Date | string;
  reviewed_by: string | null;
  reviewed_by_name: string | null;
  reviewed_at: Date | string | null;
}): KnowledgeDraft {
  const list = (value: string[] | string): string[] =>
    typeof value === 'string' ? (JSON.parse(value) as string[]) : value;
  return {
    id: row.id,
    tenant: row.tenant,
    language: row.language,
    title: row.title,
    questions: list(row.questions),
    questionIds: list(row.question_ids),
    answer: row.answer,
    status: row.status,
    createdBy: row.created_by,
    createdByName: row.created_by_name,
    createdAt: new Date(row.created_at).toISOString(),
    updatedBy: row.updated_by,
    updatedAt: new Date(row.updated_at).toISOString(),
    reviewedBy: row.reviewed_by,
    reviewedByName: row.reviewed_by_name,
    reviewedAt: row.reviewed_at ? new Date(row.reviewed_at).toISOString() : null,
    entryId: `kb-draft-${row.id}#entry`,
  };
}
