import { detectLanguage, type Language } from '../language';
import { cleanText, foldForMatching } from './clean';
import { type Entity, type ExtractOptions, extractEntities } from './entities';

export { cleanText, foldForMatching } from './clean';
export { parseDates } from './dates';
export { type Entity, type EntityPattern, entityPatternSchema, extractEntities } from './entities';

/** What every later stage (intent, policy, flows) reads instead of the raw message. */
export interface Preprocessed {
  /** The message as the customer wrote it, with form variants and noise removed. */
  text: string;
  /** Lower case, ASCII punctuation: for rules, keywords and the classifier. */
  folded: string;
  language: Language;
  entities: Entity[];
}

export interface PreprocessOptions extends ExtractOptions {
  /** The channel's locale hint, or the conversation's last language, for messages without letters. */
  localeHint?: string;
}

/**
 * Clean, extract entities, and detect the language (core/dialog/language.ts) from the words that
 * are not entities, falling back to `localeHint`. Pure and synchronous.
 */
export function preprocess(raw: string, options: PreprocessOptions = {}): Preprocessed {
  const text = cleanText(raw);
  const entities = extractEntities(text, options);
  // "AB12345678" or "ada@example.com" alone says nothing about the language: detect without entities.
  let words = text;
  for (const entity of [...entities].reverse()) {
    words = `${words.slice(0, entity.start)} ${words.slice(entity.end)}`;
  }
  return {
    text,
    folded: foldForMatching(text),
    language: detectLanguage(words, options.localeHint),
    entities,
  };
}
