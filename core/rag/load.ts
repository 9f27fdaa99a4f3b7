import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { type DerivedCache, digestOf } from '../cache/derived';
import type { KnowledgeChunk } from '../types';
import { HubError } from '../types/errors';
import { type ChunkLimits, DEFAULT_CHUNK_LIMITS, splitByTokens } from './chunk';
import { type FrontMatter, splitFrontMatter } from './front-matter';
import { detectLanguage } from './language';
import { type Section, splitSections } from './sections';

export interface LoadOptions extends Partial<ChunkLimits> {
  /** Tenant for files whose front matter names none; leave unset to share them with every tenant. */
  tenant?: string;
  /** Where the chunks of an unchanged folder are kept between starts; unset: chunked every time. */
  cache?: DerivedCache;
}

/** Bump when chunking gives different chunks for the same files (ids, splits, fields). */
const CHUNKS_KIND = 'knowledge-chunks-v1';

const cachedChunks = z.array(
  z
    .object({ id: z.string(), docId: z.string(), title: z.string(), text: z.string(), language: z.string() })
    .loose(),
) as unknown as z.ZodType<KnowledgeChunk[]>;

/**
 * Every `*.md` under `dir` (recursively, `README.md` files excepted: they document the folder), as
 * chunks. Files are read in sorted path order so ids and order are the same on every machine.
 * Chunking counts Qwen3 tokens; with `options.cache`, a folder whose files, names and limits are
 * unchanged gets its chunks back from the cache without loading the tokenizer.
 */
export async function loadKnowledge(dir: string, options: LoadOptions = {}): Promise<KnowledgeChunk[]> {
  const files = await markdownFiles(dir).catch((cause) => {
    throw new HubError('knowledge.dir', `Cannot read knowledge folder ${dir}. Fix: check knowledge.dir.`, {
      cause,
    });
  });
  const documents: Array<{ source: string; text: string }> = [];
  for (const file of files) {
    documents.push({
      source: path.relative(dir, file).split(path.sep).join('/'),
      text: await readFile(file, 'utf8'),
    });
  }
  const { cache, ...chunking } = options;
  if (!cache) return chunkDocuments(documents, chunking);
  const inputs = {
    documents: documents.map((d) => [d.source, digestOf(d.text)]),
    limits: { ...DEFAULT_CHUNK_LIMITS, ...definedOnly(chunking) },
    tenant: chunking.tenant ?? null,
  };
  const { value } = cache.through(CHUNKS_KIND, inputs, cachedChunks, () =>
    chunkDocuments(documents, chunking),
  );
  return value;
}

function chunkDocuments(
  documents: Array<{ source: string; text: string }>,
  options: LoadOptions,
): KnowledgeChunk[] {
  const chunks: KnowledgeChunk[] = [];
  const docFiles = new Map<string, string>();
  for (const { source, text } of documents) {
    const fileChunks = parseKnowledgeFile(text, source, options);
    const docId = fileChunks[0]?.docId;
    if (docId === undefined) continue;
    const other = docFiles.get(docId);
    if (other) {
      throw new HubError(
        'knowledge.duplicate_id',
        `${source}: id "${docId}" is already used by ${other}; ids must be unique`,
      );
    }
    docFiles.set(docId, source);
    chunks.push(...fileChunks);
  }
  return chunks;
}

/**
 * One Markdown file → chunks: one per `##` section, more when a section exceeds `maxTokens`.
 * Ids are `docId#slug` (docId = front matter `id`, else the path without `.md`), and `docId#slug~2`,
 * `~3`... for the later parts of a split section, so editing one entry never renames another.
 */
export function parseKnowledgeFile(
  text: string,
  source: string,
  options: LoadOptions = {},
): KnowledgeChunk[] {
  const { frontMatter, body, bodyLine } = splitFrontMatter(text, source);
  return chunkMarkdown({ ...frontMatter, body, bodyLine }, source, options);
}

/** What any format (Markdown, HTML, text, PDF) becomes before chunking: metadata and a Markdown body. */
export interface MarkdownDocument extends Partial<FrontMatter> {
  body: string;
  /** 1-based line of the source on which `body` starts, for error messages. */
  bodyLine?: number;
  updatedAt?: string;
}

/** A Markdown body → chunks, one per `##` section (more when one exceeds `maxTokens`). */
export function chunkMarkdown(
  doc: MarkdownDocument,
  source: string,
  options: LoadOptions = {},
): KnowledgeChunk[] {
  const limits: ChunkLimits = { ...DEFAULT_CHUNK_LIMITS, ...definedOnly(options) };
  const { h1, sections } = withSource(source, () => splitSections(doc.body, doc.bodyLine ?? 1));
  const docId = doc.id ?? source.replace(/\.[a-z0-9]+$/i, '');
  const docTitle = doc.title ?? h1 ?? path.basename(source).replace(/\.[a-z0-9]+$/i, '');
  const language = doc.language ?? detectLanguage(doc.body);
  const tenant = doc.tenant ?? options.tenant;
  const seen = new Map<string, number>();
  const chunks: KnowledgeChunk[] = [];
  for (const section of sections) {
    const baseId = section.slug ? `${docId}#${section.slug}` : docId;
    claim(seen, baseId, section, source);
    splitByTokens(section.text, limits).forEach((part, i) => {
      chunks.push({
        id: i === 0 ? baseId : `${baseId}~${i + 1}`,
        docId,
        title: section.heading ?? docTitle,
        ...(section.slug ? { section: section.slug } : {}),
        text: part,
        language,
        source,
        tags: doc.tags ?? [],
        ...(tenant ? { tenant } : {}),
        ...(doc.url ? { url: doc.url } : {}),
        ...(doc.updatedAt ? { updatedAt: doc.updatedAt } : {}),
        ...(i === 0 && section.questions ? { questions: section.questions } : {}),
      });
    });
  }
  return chunks;
}

/** Errors of the Markdown body name the file: `en/faq.md:12: ...`. */
function withSource<T>(source: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof HubError && error.code === 'knowledge.also_asked') {
      throw new HubError(error.code, `${source}:${error.message}`, { cause: error });
    }
    throw error;
  }
}

function claim(seen: Map<string, number>, id: string, section: Section, source: string): void {
  const first = seen.get(id);
  if (first !== undefined) {
    throw new HubError(
      'knowledge.duplicate_id',
      `${source}:${section.line}: entry id "${id}" repeats the one on line ${first}; give one heading a {#other-anchor}`,
    );
  }
  seen.set(id, section.line);
}

function definedOnly(options: LoadOptions): Partial<ChunkLimits> {
  const limits: Partial<ChunkLimits> = {};
  if (options.maxTokens !== undefined) limits.maxTokens = options.maxTokens;
  if (options.overlapTokens !== undefined) limits.overlapTokens = options.overlapTokens;
  return limits;
}

/**
 * Knowledge files below `dir` whose names `accept` takes, sorted; READMEs and anything inside a
 * dot-folder are never knowledge.
 */
export async function knowledgeFiles(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && accept(e.name) && e.name.toLowerCase() !== 'readme.md')
    .map((e) => path.join(e.parentPath, e.name))
    .filter(
      (file) =>
        !path
          .relative(dir, file)
          .split(path.sep)
          .some((part) => part.startsWith('.')),
    )
    .sort();
}

const markdownFiles = (dir: string) => knowledgeFiles(dir, (name) => /\.md$/i.test(name));
