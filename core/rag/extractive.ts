import { citationOf, type Passage } from '../types';
import type { Citation } from '../types/outbound';
import { baseLanguage } from './language';
import { splitSentences } from './sentences';

/**
 * The embedded retriever's score threshold when no calibration ran (no labelled set, fewer than 20
 * `Also asked:` questions; see core/rag/index.ts). Calibrating on the demo base's labelled tuning
 * rows chooses 0.34–0.36 for 90 % precision (`hub kb eval` prints the trade-off around it).
 */
export const ANSWER_MIN_SCORE = 0.35;

/** Longest excerpt, in characters: about a phone screen. Chinese packs more per character. */
const MAX_CHARS = { zh: 200, en: 480 };

const DONT_KNOW = {
  zh: '抱歉，我暂时没有找到相关信息。您可以换个说法再问一次，或者输入“人工”联系客服。',
  en: 'Sorry, I don\'t know the answer to that yet. You can rephrase your question, or type "agent" to talk to a person.',
};

const SOURCE_LABEL = { zh: '来源：', en: 'Source: ' };

export interface ExtractiveAnswer {
  text: string;
  citations: Citation[];
  /** The passage the answer quotes; undefined for the "don't know" answer. */
  passage?: Passage;
}

/**
 * The answer when no LLM is configured or it failed: the best passage, trimmed at a sentence end,
 * with its title as the citation; "don't know" when there is no passage, or none scores `minScore`
 * (default 0: the answering retriever has already applied the calibrated threshold). Passages in the
 * customer's language are preferred over a slightly better one in another language.
 */
export function extractiveAnswer(
  question: string,
  passages: Passage[],
  language: string,
  options: { minScore?: number } = {},
): ExtractiveAnswer {
  const minScore = options.minScore ?? 0;
  const lang = baseLanguage(language);
  const answerable = question.trim() ? passages.filter((p) => p.score >= minScore) : [];
  const best = answerable.find((p) => p.language === lang) ?? answerable[0];
  if (!best) return { text: dontKnow(lang), citations: [] };
  const key = best.language === 'zh' ? 'zh' : 'en';
  const excerpt = trimAtSentence(plainText(best.text), MAX_CHARS[key]);
  return {
    text: `${excerpt}\n\n${SOURCE_LABEL[key]}${best.title}`,
    citations: [citationOf(best)],
    passage: best,
  };
}

/** In the customer's language; both when it is neither Chinese nor English. */
export function dontKnow(language: string): string {
  const lang = baseLanguage(language);
  if (lang === 'zh') return DONT_KNOW.zh;
  if (lang === 'en') return DONT_KNOW.en;
  return `${DONT_KNOW.en}\n${DONT_KNOW.zh}`;
}

/** Markdown emphasis and code marks read as noise in a chat bubble; list markers stay. */
function plainText(markdown: string): string {
  return markdown
    .replace(/\*\*(.+?)\*\*|__(.+?)__/g, '$1$2')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');
}

/** Whole sentences up to `maxChars`; a first sentence longer than that is cut with an ellipsis. */
function trimAtSentence(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text.trim();
  let kept = '';
  for (const sentence of splitSentences(text)) {
    if ((kept + sentence).trimEnd().length > maxChars) break;
    kept += sentence;
  }
  return (
    kept.trim() ||
    `${[...text]
      .slice(0, maxChars - 1)
      .join('')
      .trimEnd()}…`
  );
}
