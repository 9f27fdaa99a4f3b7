const escapeHtml = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

const escapeAttribute = (text: string): string => escapeHtml(text).replaceAll('"', '&quot;');

const SAFE_URL = /^(https?:\/\/|tg:\/\/|mailto:)/i;

/**
 * Markdown as the dialog engine writes it into Telegram's HTML parse mode: bold, italic, code, code
 * blocks, links, headings and bullets. Everything else is escaped, and tags are only produced in
 * balanced pairs, so the result never makes Telegram answer "can't parse entities".
 */
export function markdownToTelegramHtml(markdown: string): string {
  const kept: string[] = [];
  const keep = (html: string) => `\uE000${kept.push(html) - 1}\uE000`;
  let text = markdown.replace(/```[^\n`]*\n?([\s\S]*?)```/g, (_m, code: string) =>
    keep(`<pre><code>${escapeHtml(code.replace(/\n$/, ''))}</code></pre>`),
  );
  text = text.replace(/`([^`\n]+)`/g, (_m, code: string) => keep(`<code>${escapeHtml(code)}</code>`));
  text = escapeHtml(text);
  text = text.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, label: string, url: string) =>
    SAFE_URL.test(url)
      ? keep(`<a href="${escapeAttribute(url.replaceAll('&amp;', '&'))}">${label}</a>`)
      : whole,
  );
  text = text.replace(/^#{1,6}[ \t]+(.+)$/gm, '<b>$1</b>');
  text = text.replace(/^[ \t]*[-*+][ \t]+/gm, '• ');
  text = text.replace(
    /\*\*([^*<>\n]+?)\*\*|__([^_<>\n]+?)__/g,
    (_m, a?: string, b?: string) => `<b>${a ?? b}</b>`,
  );
  text = text.replace(
    /(^|[^\w*])\*([^*<>\n]+?)\*(?!\w)|(^|[^\w_])_([^_<>\n]+?)_(?!\w)/g,
    (_m, lead1?: string, a?: string, lead2?: string, b?: string) => `${lead1 ?? lead2 ?? ''}<i>${a ?? b}</i>`,
  );
  return text.replace(/\uE000(\d+)\uE000/g, (_m, index: string) => kept[Number(index)] ?? '');
}

export { escapeHtml };
