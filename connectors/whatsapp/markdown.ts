/**
 * Markdown as the dialog engine writes it into WhatsApp's formatting: **bold** → *bold*,
 * *italic* → _italic_, ~~strike~~ → ~strike~, headings bold, [label](url) → "label (url)",
 * bullets as "- ". Code spans and blocks are kept: WhatsApp shows `code` and ```blocks``` as such.
 * WhatsApp has no escaping, so nothing else changes.
 */
export function markdownToWhatsApp(markdown: string): string {
  const kept: string[] = [];
  const keep = (text: string) => `\uE000${kept.push(text) - 1}\uE000`;
  let text = markdown.replace(/```[^\n`]*\n?([\s\S]*?)```/g, (_m, code: string) =>
    keep(`\`\`\`${code}\`\`\``),
  );
  text = text.replace(/`([^`\n]+)`/g, (_m, code: string) => keep(`\`${code}\``));
  text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g, (_m, label: string, url: string) =>
    keep(label === url ? url : `${label} (${url})`),
  );
  text = text.replace(/^#{1,6}[ \t]+(.+)$/gm, (_m, heading: string) => keep(`*${heading.trim()}*`));
  text = text.replace(/^([ \t]*)[*+][ \t]+/gm, '$1- ');
  // Italic first, on single markers only, so the bold markers it writes are not read again.
  text = text.replace(/(^|[^\w*])\*([^*\n]+?)\*(?!\w)/g, '$1_$2_');
  text = text.replace(/\*\*([^*\n]+?)\*\*|__([^_\n]+?)__/g, (_m, a?: string, b?: string) => `*${a ?? b}*`);
  text = text.replace(/~~([^~\n]+?)~~/g, '~$1~');
  return text.replace(/\uE000(\d+)\uE000/g, (_m, index: string) => kept[Number(index)] ?? '');
}
