import { chunkMarkdown } from '../rag/load';
import type { KnowledgeChunk } from '../types';
import { HubError } from '../types/errors';

/** What a draft becomes: one knowledge entry, as if written in a Markdown file of `knowledge.dir`. */
export interface EntryContent {
  id: string;
  tenant: string;
  language: string;
  /** The entry's heading: the question it answers. */
  title: string;
  /** Other wordings customers used (the entry's `Also asked:` list). */
  questions: string[];
  answer: string;
  updatedAt?: string;
}

/** Every published entry's document id starts so; its citation's source names the draft. */
export const ENTRY_DOC_PREFIX = 'kb-draft-';
export const ENTRY_TAG = 'knowledge-gap';

export const entrySource = (id: string) => `knowledge-drafts/${id}`;

/** One line of a heading or a list item: no line breaks, no heading anchor of its own. */
function oneLine(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\{#[^}]*\}\s*$/, '')
    .trim();
}

/** The entry in the knowledge folder's Markdown form (knowledge/README.md "Format"). */
export function entryMarkdown(entry: EntryContent): string {
  const title = oneLine(entry.title);
  const others = [...new Set(entry.questions.map(oneLine))].filter(
    (q) => q && q.toLowerCase() !== title.toLowerCase(),
  );
  const asked = others.length ? `\n\nAlso asked:\n${others.map((q) => `- ${q}`).join('\n')}` : '';
  return `## ${title} {#entry}\n\n${entry.answer.trim()}${asked}\n`;
}

/**
 * The entry's chunks, made by the same chunker as `hub kb ingest` and the knowledge folder: one
 * chunk (more when the answer is longer than a chunk), id `kb-draft-<id>#entry`. An answer that
 * would make more than one entry (a `##` heading of its own) is refused with 400.
 */
export function entryChunks(entry: EntryContent): KnowledgeChunk[] {
  const title = oneLine(entry.title);
  if (!title) throw invalid('The entry needs a question (its title).');
  if (!entry.answer.trim()) throw invalid('The entry needs an answer.');
  if (/^\s{0,3}#{1,2}\s/m.test(entry.answer)) {
    throw invalid(
      'The answer may not contain "#" or "##" headings: one draft is one entry. Use "###" inside it.',
    );
  }
  const docId = `${ENTRY_DOC_PREFIX}${entry.id}`;
  let chunks: KnowledgeChunk[];
  try {
    chunks = chunkMarkdown(
      {
        id: docId,
        title,
        language: entry.language,
        tenant: entry.tenant,
        tags: [ENTRY_TAG],
        body: entryMarkdown(entry),
        ...(entry.updatedAt ? { updatedAt: entry.updatedAt } : {}),
      },
      entrySource(entry.id),
    );
  } catch (cause) {
    throw invalid(`The entry cannot be read as knowledge: ${(cause as Error).message}`, cause);
  }
  if (chunks.length === 0 || chunks.some((c) => !c.id.startsWith(`${docId}#entry`))) {
    throw invalid('The answer must stay one entry under the question.');
  }
  return chunks;
}

function invalid(message: string, cause?: unknown): HubError {
  return new HubError('knowledge.invalid_entry', message, { status: 400, ...(cause ? { cause } : {}) });
}
