import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { KnowledgeChunk } from '../../types';
import { HubError } from '../../types/errors';
import { detectLanguage } from '../language';
import { chunkMarkdown, type LoadOptions } from '../load';
import { slugify } from '../sections';

/** One FAQ entry: `question` and `answer` are required; the rest are optional. */
export interface FaqRow {
  question: string;
  answer: string;
  /** A list, or text separated by `,`, `;` or `|`. */
  tags?: string[] | string;
  id?: string;
  language?: string;
  tenant?: string;
  url?: string;
}

/**
 * A CSV (header row with `question,answer[,tags,id,language,tenant,url]`) or a JSON FAQ (an array of
 * such objects, or `{ "entries": [...] }`) → one entry per row, chunked like a Markdown section so a
 * long answer is split the same way. Entry ids are `docId#id` (or `#slug-of-question`).
 */
export function parseFaq(
  text: string,
  source: string,
  options: LoadOptions & { updatedAt?: string } = {},
): KnowledgeChunk[] {
  const rows = path.extname(source).toLowerCase() === '.csv' ? csvRows(text, source) : jsonRows(text, source);
  const docId = source.replace(/\.[a-z0-9]+$/i, '');
  const seen = new Set<string>();
  return rows.flatMap((row, i) => {
    const where = `${source}: entry ${i + 1}`;
    const question = String(row.question ?? '').trim();
    const answer = String(row.answer ?? '').trim();
    if (!question || !answer)
      throw new HubError('knowledge.faq', `${where} needs both "question" and "answer"`);
    const anchor = row.id ? String(row.id).trim() : slugify(question);
    if (seen.has(anchor))
      throw new HubError(
        'knowledge.duplicate_id',
        `${where}: id "${anchor}" repeats an earlier entry; give it its own "id"`,
      );
    seen.add(anchor);
    return chunkMarkdown(
      {
        id: docId,
        title: question,
        body: `## ${question.replace(/\n/g, ' ')} {#${anchor}}\n\n${answer}`,
        language: row.language?.trim().toLowerCase() || detectLanguage(`${question} ${answer}`),
        tags: tagList(row.tags),
        ...(row.tenant ? { tenant: row.tenant } : {}),
        ...(row.url ? { url: row.url } : {}),
        ...(options.updatedAt ? { updatedAt: options.updatedAt } : {}),
      },
      source,
      options,
    );
  });
}

function csvRows(text: string, source: string): FaqRow[] {
  try {
    return parseCsv(text, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      bom: true,
      trim: true,
    });
  } catch (cause) {
    throw new HubError('knowledge.faq', `${source}: not a valid CSV FAQ: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function jsonRows(text: string, source: string): FaqRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (cause) {
    throw new HubError('knowledge.faq', `${source}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const rows = Array.isArray(data) ? data : (data as { entries?: unknown })?.entries;
  if (!Array.isArray(rows) || rows.some((row) => typeof row !== 'object' || row === null)) {
    throw new HubError(
      'knowledge.faq',
      `${source}: a JSON FAQ is an array of {question, answer, tags} objects (or {"entries": [...]})`,
    );
  }
  return rows as FaqRow[];
}

function tagList(tags: FaqRow['tags']): string[] {
  if (Array.isArray(tags))
    return tags
      .map(String)
      .map((t) => t.trim())
      .filter(Boolean);
  return (tags ?? '')
    .split(/[,;|]/)
    .map((t) => t.trim())
    .filter(Boolean);
}
