/**
 * What no stored or forwarded customer text may hold: C0 control characters except tab and line
 * feed (NUL among them: PostgreSQL text and jsonb refuse it, and a helpdesk comment with it fails
 * every retry), DEL, and lone UTF-16 surrogates (not encodable as UTF-8). Emoji, CJK and every
 * other well-formed character stay as they are.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_CLEANING = /[\u0000-\u0008\u000B-\u001F\u007F\uD800-\uDFFF]/;

/** One string without the characters above; carriage returns become line feeds. */
export function cleanText(text: string): string {
  // Fast path: almost every message has nothing to clean (a surrogate pair is checked below).
  if (!NEEDS_CLEANING.test(text)) return text;
  // Lone surrogates first: removing a control between two halves ("\uD800\u0000\uDFFF") must not
  // join them into a pair the customer never sent.
  return text.replace(/\r\n?/g, '\n').replace(LONE_SURROGATES, '').replace(CONTROLS, '');
}

/** Nesting beyond this in an event (its raw payload) is cut: the HTTP parsers allow far less. */
export const MAX_CLEAN_DEPTH = 128;

/**
 * A copy of a JSON-like value with every string, keys included, passed through {@link cleanText}.
 * Subtrees deeper than {@link MAX_CLEAN_DEPTH} become the string "[too deep]", so the recursion is
 * bounded whatever a transport without the HTTP depth limit (a socket, long polling) handed over.
 */
export function cleanDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cleanText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_CLEAN_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => cleanDeep(item, depth + 1));
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const cleanKey = cleanText(key);
    // defineProperty: a "__proto__" key stays a plain key, never the copy's prototype.
    Object.defineProperty(copy, cleanKey, {
      value: cleanDeep(item, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}
