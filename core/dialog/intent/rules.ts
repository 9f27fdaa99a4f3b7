import type { IntentConfig } from './config';

export interface RuleMatch {
  name: string;
  confidence: number;
  /** The keyword or pattern that fired. */
  evidence: string;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface CompiledIntent {
  name: string;
  matchers: { evidence: string; re: RegExp; confidence: number }[];
}

/**
 * Tier (a): keywords and patterns from config over the folded message. One intent hit: its
 * confidence. Several intents hit: the best, at half confidence, so the next tier decides.
 */
export class IntentRules {
  private readonly compiled: CompiledIntent[];

  constructor(config: IntentConfig) {
    this.compiled = config.intents.map((intent) => ({
      name: intent.name,
      matchers: [
        ...intent.patterns.map((source) => ({
          evidence: source,
          re: new RegExp(source, 'iu'),
          confidence: config.patternConfidence,
        })),
        ...intent.keywords.zh.map((word) => ({
          evidence: word,
          re: new RegExp(escapeRegex(word.toLowerCase()), 'u'),
          confidence: config.keywordConfidence,
        })),
        ...intent.keywords.en.map((word) => ({
          evidence: word,
          re: new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegex(word.toLowerCase())}(?![\\p{L}\\p{N}])`, 'u'),
          confidence: config.keywordConfidence,
        })),
      ],
    }));
  }

  /** All intents hit, best first; the first one's confidence already reflects ambiguity. */
  match(folded: string): RuleMatch[] {
    const hits: RuleMatch[] = [];
    for (const intent of this.compiled) {
      let best: RuleMatch | undefined;
      for (const matcher of intent.matchers) {
        if (matcher.re.test(folded) && (!best || matcher.confidence > best.confidence)) {
          best = { name: intent.name, confidence: matcher.confidence, evidence: matcher.evidence };
        }
      }
      if (best) hits.push(best);
    }
    hits.sort((a, b) => b.confidence - a.confidence);
    if (hits.length > 1) return hits.map((hit) => ({ ...hit, confidence: hit.confidence / 2 }));
    return hits;
  }
}
