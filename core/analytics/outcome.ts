import { type RawBuilder, sql } from 'kysely';

/**
 * What became of a conversation of the business metrics (a row of `conversation_outcomes`), in
 * the words README "Business metrics" uses: the same rules `businessFigures` counts by.
 * - `open`: a customer message within `abandonAfterMinutes`, no handoff;
 * - `handed_off`: a person was asked for;
 * - `abandoned`: it ended while the bot waited on a question or had just said "I don't know";
 * - `bot_resolved`: it ended with the bot, no turn unanswered (contained);
 * - `ended_unanswered`: it ended with the bot after an answer, but an earlier turn went unanswered.
 */
export const OUTCOMES = ['open', 'bot_resolved', 'handed_off', 'abandoned', 'ended_unanswered'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * The outcome of the `conversation_outcomes` row under `alias` as SQL text (null when there is no
 * row), at `now`: one with no customer message since `abandonAfterMinutes` has ended.
 */
export function outcomeSql(
  alias: string,
  now: Date,
  abandonAfterMinutes: number,
): RawBuilder<Outcome | null> {
  const cutoff = new Date(now.getTime() - abandonAfterMinutes * 60_000).toISOString();
  const column = (name: string) => sql.ref(`${alias}.${name}`);
  return sql<Outcome | null>`case
    when ${column('id')} is null then null
    when ${column('handed_off_at')} is not null then 'handed_off'
    when ${column('last_customer_at')} > ${cutoff}::timestamptz then 'open'
    when ${column('left_waiting')} then 'abandoned'
    when ${column('unanswered_turns')} = 0 then 'bot_resolved'
    else 'ended_unanswered' end`;
}
