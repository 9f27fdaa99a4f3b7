import { HubError } from '../types/errors';

export interface Section {
  /** Heading text without the `{#anchor}`; undefined for text before the first `##`. */
  heading?: string;
  /** Explicit `{#anchor}` from the heading, or a slug of it. */
  slug?: string;
  text: string;
  /** 1-based line of the heading (or of the first body line). */
  line: number;
  /** Other ways customers ask this entry's question: its `Also asked:` list, removed from `text`. */
  questions?: string[];
}

const H1 = /^#\s+(.+?)\s*#*\s*$/;
const H2 = /^##\s+(.+?)\s*$/;
const ANCHOR = /\s*\{#([\p{L}\p{N}._-]+)\}\s*$/u;
const FENCE = /^\s*(```|~~~)/;
/** The line that opens an entry's list of alternative questions. */
const ALSO_ASKED = /^\s*(?:also asked|其他问法|也可以这样问)\s*[:：]\s*$/i;
const LIST_ITEM = /^\s*[-*+]\s+(.+?)\s*$/;

/**
 * Cut a Markdown body at its `##` headings: one section per FAQ entry. The `#` title is not part of
 * any section (it repeats the front matter); deeper headings stay inside their section. Headings
 * inside fenced code are text.
 */
export function splitSections(body: string, firstLine: number): { h1?: string; sections: Section[] } {
  let h1: string | undefined;
  const sections: Section[] = [];
  let current: Section = { text: '', line: firstLine };
  let inFence = false;
  body.split('\n').forEach((line, i) => {
    if (FENCE.test(line)) inFence = !inFence;
    const h2 = inFence ? null : H2.exec(line);
    const title = inFence || h1 !== undefined || sections.length > 0 ? null : H1.exec(line);
    if (h2) {
      sections.push(current);
      const raw = h2[1] ?? '';
      const anchor = ANCHOR.exec(raw);
      const heading = raw.replace(ANCHOR, '').trim();
      current = { heading, slug: anchor?.[1] ?? slugify(heading), text: '', line: firstLine + i };
    } else if (title && current.heading === undefined && !current.text.trim()) {
      h1 = title[1];
    } else {
      current.text += `${line}\n`;
    }
  });
  sections.push(current);
  return {
    h1,
    sections: sections
      .map(alternativeQuestions)
      .filter((s) => s.text.trim())
      .map((s) => ({ ...s, text: s.text.trim() })),
  };
}

/**
 * Takes an entry's `Also asked:` block out of its text: the label on a line of its own, then a
 * Markdown list, one question per item. The questions are searched like the heading; the customer
 * never sees them in an answer. A label without a list is an error, so a typo does not leak the
 * questions into the answer text.
 */
function alternativeQuestions(section: Section): Section {
  const lines = section.text.split('\n');
  const kept: string[] = [];
  const questions: string[] = [];
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence || !ALSO_ASKED.test(line)) {
      kept.push(line);
      continue;
    }
    const before = questions.length;
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').trim()) j++;
    for (; j < lines.length; j++) {
      const item = LIST_ITEM.exec(lines[j] ?? '');
      if (!item) break;
      questions.push(item[1] ?? '');
    }
    if (questions.length === before) {
      const at = section.line + (section.heading === undefined ? i : i + 1);
      throw new HubError(
        'knowledge.also_asked',
        `${at}: "${line.trim()}" must be followed by a list of questions ("- How do I ...?")`,
      );
    }
    i = j - 1;
  }
  return questions.length ? { ...section, text: kept.join('\n'), questions } : section;
}

/** Lower-case letters and digits of any script joined by dashes: "Where's my order?" → "where-s-my-order". */
export function slugify(heading: string): string {
  const slug = heading
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join('-');
  if (!slug)
    throw new HubError(
      'knowledge.heading',
      `heading "${heading}" has no letters or digits to build an id from`,
    );
  return slug;
}
