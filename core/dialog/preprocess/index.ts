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

/** Clean, detect the language (core/dialog/language.ts) and extract entities. Pure and synchronous. */
export function preprocess(raw: string, options: PreprocessOptions = {}): Preprocessed {
  const text = cleanText(raw);
  return {
    text,
    folded: foldForMatching(text),
    language: detectLanguage(text, options.localeHint),
    entities: extractEntities(text, options),
  };
}
