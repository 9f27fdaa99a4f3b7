import path from 'node:path';
import type { KnowledgeChunk } from '../../types';
import { HubError } from '../../types/errors';
import { splitFrontMatter } from '../front-matter';
import { chunkMarkdown, type LoadOptions } from '../load';
import { parseFaq } from './faq';
import { htmlToMarkdown } from './html';
import { pdfToMarkdown } from './pdf';

export const INGESTIBLE = ['.md', '.markdown', '.html', '.htm', '.txt', '.csv', '.json', '.pdf'];

export function isIngestible(file: string): boolean {
  return INGESTIBLE.includes(path.extname(file).toLowerCase());
}

export interface DocumentOptions extends LoadOptions {
  /** The file's modification time, carried on each chunk. */
  updatedAt?: string;
}

/** Any supported file → chunks with metadata. `source` is the path shown in citations and ids. */
export async function parseDocumentFile(
  data: Buffer,
  source: string,
  options: DocumentOptions = {},
): Promise<KnowledgeChunk[]> {
  const ext = path.extname(source).toLowerCase();
  const extras = options.updatedAt ? { updatedAt: options.updatedAt } : {};
  switch (ext) {
    case '.md':
    case '.markdown': {
      const { frontMatter, body, bodyLine } = splitFrontMatter(data.toString('utf8'), source);
      return chunkMarkdown({ ...frontMatter, body, bodyLine, ...extras }, source, options);
    }
    case '.html':
    case '.htm':
      return chunkMarkdown({ ...htmlToMarkdown(data.toString('utf8')), ...extras }, source, options);
    case '.txt':
      return chunkMarkdown({ body: textAsMarkdown(data.toString('utf8')), ...extras }, source, options);
    case '.csv':
    case '.json':
      return parseFaq(data.toString('utf8'), source, options);
    case '.pdf': {
      const doc = await pdfToMarkdown(new Uint8Array(data), path.basename(source, ext)).catch((cause) => {
        throw new HubError('knowledge.pdf', `${source}: cannot read the PDF: ${(cause as Error).message}`, {
          cause,
        });
      });
      return chunkMarkdown({ ...doc, ...extras }, source, options);
    }
    default:
      throw new HubError(
        'knowledge.format',
        `${source}: unsupported file type; use one of ${INGESTIBLE.join(' ')}`,
      );
  }
}

/** Plain text has no headings: escape lines that would read as Markdown headings. */
function textAsMarkdown(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/^(#+\s)/gm, '\\$1');
}
