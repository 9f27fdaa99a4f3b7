import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { sql } from 'kysely';
import { defaultPiiMasker } from '../privacy/mask';
import type { KyselyStore } from '../store';
import { openMessageText } from '../store/rows';
import { ORDER_ID_PATTERN } from '../types/adapters';

/**
 * Training-set export for the LoRA recipe (gpu-serving/lora): resolved conversations from the
 * transcript store as chat-format JSONL — one `{"messages": [{role, content}, ...]}` per line, the
 * format TRL/PEFT scripts and the Qwen3 chat template take — with personal data masked.
 *
 * "Resolved" here: the bot answered (at least one customer message and one reply), the conversation
 * has been idle for `idleMinutes`, and it was not handed to a human (no ticket request for it).
 */
export interface ExportOptions {
  /** Only conversations whose last activity is at or after this instant. */
  since?: Date;
  /** A conversation counts as finished after this long without activity (default 60). */
  idleMinutes?: number;
  /** Prepended as the system message of every example, when given. */
  system?: string;
  /** Clock for the idle rule (tests). */
  now?: Date;
}

export interface ChatExample {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

const ORDER_ID = new RegExp(ORDER_ID_PATTERN.source, 'g');

/**
 * Order ids, then every kind of personal data the hub's detector finds (core/privacy: e-mail,
 * phones, cards, IBANs, ids, addresses...), replaced with placeholders the model learns to keep:
 * `<order_id>`, `<email>`, `<phone>`, `<card>`...
 */
export function maskPii(text: string): string {
  const withoutOrders = text.replace(ORDER_ID, '<order_id>');
  const finds = defaultPiiMasker.detector().find(withoutOrders);
  let out = '';
  let at = 0;
  for (const find of finds) {
    out += `${withoutOrders.slice(at, find.start)}<${find.type.toLowerCase()}>`;
    at = find.end;
  }
  return out + withoutOrders.slice(at);
}

/**
 * Transcript rows → one chat example: consecutive messages from the same side are joined (the chat
 * template expects turns to alternate), leading replies (greetings before the customer spoke) and a
 * trailing unanswered customer message are dropped. Undefined when no user→assistant pair is left.
 */
export function toExample(
  rows: { direction: 'in' | 'out'; text: string }[],
  system?: string,
): ChatExample | undefined {
  const turns: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const row of rows) {
    const content = maskPii(row.text.trim());
    if (!content) continue;
    const role = row.direction === 'in' ? 'user' : 'assistant';
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content += `\n${content}`;
    else if (turns.length > 0 || role === 'user') turns.push({ role, content });
  }
  if (turns[turns.length - 1]?.role === 'user') turns.pop();
  if (turns.length < 2) return undefined;
  return { messages: [...(system ? [{ role: 'system' as const, content: system }] : []), ...turns] };
}

/** Yield one example per resolved conversation, oldest activity first. */
export async function* resolvedConversations(
  store: KyselyStore,
  options: ExportOptions = {},
): AsyncGenerator<ChatExample> {
  const now = options.now ?? new Date();
  const idleBefore = new Date(now.getTime() - (options.idleMinutes ?? 60) * 60_000);
  let query = store.db
    .selectFrom('conversations as c')
    .select('c.key')
    .where('c.last_activity_at', '<=', idleBefore)
    .where(
      sql<boolean>`exists (select 1 from messages m where m.conversation_key = c.key and m.direction = 'in')`,
    )
    .where(
      sql<boolean>`exists (select 1 from messages m where m.conversation_key = c.key and m.direction = 'out')`,
    )
    .where(sql<boolean>`not exists (select 1 from ticket_requests t where t.conversation_key = c.key)`)
    .orderBy('c.last_activity_at')
    .orderBy('c.key');
  if (options.since) query = query.where('c.last_activity_at', '>=', options.since);
  for (const { key } of await query.execute()) {
    const rows = await store.db
      .selectFrom('messages')
      .select(['id', 'direction', 'text'])
      .where('conversation_key', '=', key)
      .orderBy('created_at')
      .orderBy('seq')
      .execute();
    const opened = rows.map((row) => ({
      direction: row.direction,
      text: openMessageText(store.atRest, row),
    }));
    const example = toExample(opened, options.system);
    if (example) yield example;
  }
}

/** Write the examples to `file` as JSONL; returns how many were written. */
export async function exportTrainingSet(
  store: KyselyStore,
  file: string,
  options: ExportOptions = {},
): Promise<number> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  let written = 0;
  try {
    for await (const example of resolvedConversations(store, options)) {
      if (!out.write(`${JSON.stringify(example)}\n`)) await once(out, 'drain');
      written++;
    }
  } finally {
    out.end();
    await once(out, 'finish');
  }
  return written;
}
