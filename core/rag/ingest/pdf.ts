import { extractText, getDocumentProxy, getMeta } from 'unpdf';
import type { MarkdownDocument } from '../load';

/**
 * A PDF → one section per page ("Title (p. 3)"), so a citation points at the page. unpdf bundles a
 * serverless PDF.js build: pure JavaScript, offline. Scanned PDFs have no text layer and yield nothing.
 */
export async function pdfToMarkdown(data: Uint8Array, fallbackTitle: string): Promise<MarkdownDocument> {
  const pdf = await getDocumentProxy(data);
  const { text } = await extractText(pdf, { mergePages: false });
  const meta = await getMeta(pdf).catch(() => undefined);
  const info = (meta?.info ?? {}) as { Title?: unknown };
  const title = typeof info.Title === 'string' && info.Title.trim() ? info.Title.trim() : fallbackTitle;
  const body = text
    .map((page, i) => ({ page: i + 1, text: page.replace(/[ \t]+\n/g, '\n').trim() }))
    .filter((page) => page.text)
    .map((page) => `## ${title} (p. ${page.page}) {#p${page.page}}\n\n${page.text}`)
    .join('\n\n');
  return { title, body };
}
