const CJK_END = '。！？；…';
const LATIN_END = '.!?';
/** Closing quotes and brackets stay with the sentence they close: 他说：“好。”|下一句. */
const CLOSERS = '”’」』）)]"\'';

/**
 * Sentences with their trailing whitespace kept, so `sentences.join('')` gives back the text exactly.
 * Ends at Chinese marks anywhere, at Latin marks only before whitespace (so "3.5" and "v1.2" hold),
 * and at line breaks (list items are sentences).
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    const next = text[i + 1];
    const ends =
      CJK_END.includes(char) ||
      char === '\n' ||
      (LATIN_END.includes(char) && (next === undefined || /\s/.test(next) || CLOSERS.includes(next)));
    i++;
    if (!ends) continue;
    while (i < text.length && (CLOSERS.includes(text.charAt(i)) || CJK_END.includes(text.charAt(i)))) i++;
    while (i < text.length && /[ \t\n\r]/.test(text.charAt(i))) i++;
    sentences.push(text.slice(start, i));
    start = i;
  }
  if (start < text.length) sentences.push(text.slice(start));
  return sentences;
}
