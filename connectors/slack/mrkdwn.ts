const escapeSlack = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Plain text as Slack shows it literally: only &, < and > are control characters. */
export { escapeSlack };

/**
 * Markdown into Slack's mrkdwn: **bold** → *bold*, *italic* → _italic_, ~~strike~~ → ~strike~,
 * [text](url) → <url|text>, headings bold, bullets as "•". Code spans and blocks are kept as they are.
 */
export function markdownToMrkdwn(markdown: string): string {
  const kept: string[] = [];
  const keep = (text: string) => `\uE000${kept.push(text) - 1}\uE000`;
  let text = markdown.replace(/```[^\n`]*\n?([\s\S]*?)```/g, (_m, code: string) =>
    keep(`\`\`\`${escapeSlack(code)}\`\`\``),
  );
  text = text.replace(/`([^`\n]+)`/g, (_m, code: string) => keep(`\`${escapeSlack(code)}\``));
  text = escapeSlack(text);
  text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s|]+)\)/g, (_m, label: string, url: string) =>
    keep(`<${url.replaceAll('&amp;', '&')}|${label}>`),
  );
  text = text.replace(/^#{1,6}[ \t]+(.+)$/gm, (_m, heading: string) => keep(`*${heading}*`));
  text = text.replace(/^[ \t]*[-*+][ \t]+/gm, '• ');
  // Italic first, on single markers only, so the bold markers it writes are not read again.
  text = text.replace(/(^|[^\w*])\*([^*\n]+?)\*(?!\w)/g, '$1_$2_');
  text = text.replace(/\*\*([^*\n]+?)\*\*|__([^_\n]+?)__/g, (_m, a?: string, b?: string) => `*${a ?? b}*`);
  text = text.replace(/~~([^~\n]+?)~~/g, '~$1~');
  return text.replace(/\uE000(\d+)\uE000/g, (_m, index: string) => kept[Number(index)] ?? '');
}
