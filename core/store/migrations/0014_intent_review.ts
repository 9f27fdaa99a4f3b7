import type { Kysely } from 'kysely';

/**
 * Intent review (core/intents): the figures of each offline evaluation of the intent classifier,
 * and supervisors' labels of recognized turns. A label names the turn by its event id (the turn's
 * text stays in `messages`, sealed); an approved label keeps the example it became, masked and
 * sealed, so `hub intents labels export` can write the training file again from the database.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('intent_evaluations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset', 'text', (c) => c.notNull())
    /** `cli` (hub intents eval) or `console` (the Intents page's "run evaluation"). */
    .addColumn('source', 'text', (c) => c.notNull())
    /** `running`, `done` or `failed`. */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('examples', 'integer')
    .addColumn('labels', 'integer')
    .addColumn('folds', 'integer')
    .addColumn('accuracy', 'double precision')
    .addColumn('macro_f1', 'double precision')
    .addColumn('per_intent', 'jsonb')
    .addColumn('confusions', 'jsonb')
    .addColumn('duration_ms', 'integer')
    .addColumn('error', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('intent_evaluations_started_idx')
    .on('intent_evaluations')
    .columns(['started_at'])
    .execute();
  await db.schema
    .createTable('intent_labels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('tenant', 'text', (c) => c.notNull())
    /** What the recognizer said (`unknown` included) and the right intent per the labeller. */
    .addColumn('predicted', 'text')
    .addColumn('intent', 'text', (c) => c.notNull())
    /** `pending`, `approved` or `rejected`. */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('labelled_by', 'text', (c) => c.notNull())
    .addColumn('labelled_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reviewed_by', 'text')
    .addColumn('reviewed_at', 'timestamptz')
    /** The training example an approval wrote: the turn's text, personal data masked, sealed. */
    .addColumn('example', 'text')
    .execute();
  await db.schema
    .createIndex('intent_labels_status_idx')
    .on('intent_labels')
    .columns(['status', 'labelled_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('intent_labels').ifExists().execute();
  await db.schema.dropTable('intent_evaluations').ifExists().execute();
}
