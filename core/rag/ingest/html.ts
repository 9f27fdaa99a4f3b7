import { type ChildNode, type Element, isTag, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import type { MarkdownDocument } from '../load';

/** Page furniture and code: never knowledge. */
const SKIPPED = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'nav',
  'header',
  'footer',
  'aside',
  'svg',
  'form',
]);
const BLOCKS = new Set([
  'p',
  'div',
  'section',
  'article',
  'main',
  'tr',
  'table',
  'ul',
  'ol',
  'dl',
  'dt',
  'dd',
  'blockquote',
  'pre',
  'figure',
  'figcaption',
  'br',
  'hr',
  'details',
  'summary',
]);

/**
 * An HTML page → Markdown body and metadata, so it is chunked like a Markdown file: `<h2>` (and
 * `<h1>` after the first) start sections, deeper headings stay inside them; the title comes from
 * `<title>` or the first `<h1>`, the language from `<html lang>`, the citation link from
 * `<link rel="canonical">`, tags from `<meta name="keywords">`.
 */
export function htmlToMarkdown(html: string): MarkdownDocument {
  const document = parseDocument(html, { decodeEntities: true });
  const meta: { title?: string; language?: string; url?: string; tags: string[] } = { tags: [] };
  let out = '';
  let sawH1 = false;
  const visit = (node: ChildNode): void => {
    if (isText(node)) {
      out += node.data.replace(/\s+/g, ' ');
      return;
    }
    if (!isTag(node)) return;
    const name = node.name.toLowerCase();
    if (name === 'html' && node.attribs.lang) meta.language = node.attribs.lang.split('-')[0]?.toLowerCase();
    if (name === 'title') {
      meta.title ??= textOf(node).trim() || undefined;
      return;
    }
    if (name === 'link' && /\bcanonical\b/i.test(node.attribs.rel ?? '') && node.attribs.href)
      meta.url = node.attribs.href;
    if (name === 'meta' && node.attribs.name?.toLowerCase() === 'keywords' && node.attribs.content) {
      meta.tags = node.attribs.content
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    }
    if (SKIPPED.has(name) || name === 'head') {
      if (name === 'head') node.children.forEach(visit);
      return;
    }
    const heading = /^h([1-6])$/.exec(name);
    if (heading) {
      const level = Number(heading[1]);
      const text = textOf(node).replace(/\s+/g, ' ').trim();
      if (!text) return;
      if (level === 1 && !sawH1) {
        sawH1 = true;
        out += `\n\n# ${text}\n\n`;
      } else {
        out += `\n\n${level <= 2 ? '##' : '###'} ${text}\n\n`;
      }
      return;
    }
    if (name === 'li') out += '\n- ';
    else if (BLOCKS.has(name)) out += '\n\n';
    node.children.forEach(visit);
    if (BLOCKS.has(name)) out += '\n\n';
  };
  document.children.forEach(visit);
  const body = out
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { ...meta, body };
}

function textOf(node: Element): string {
  return node.children
    .map((child) => (isText(child) ? child.data : isTag(child) ? textOf(child) : ''))
    .join('');
}
