import { splitSentences } from '../rag/sentences';
import { charBigrams, cjkRuns, isStopWord, latinWords, stemEnglish } from '../rag/text-features';
import type { LlmClient } from '../types';

/** What the groundedness check found. */
export interface Grounding {
  grounded: boolean;
  /** Numbers, amounts, durations and percentages of the answer that no passage has. */
  unsupportedNumbers: string[];
  /** Sentences whose words are mostly not in the passages. */
  unsupportedSentences: string[];
  by: 'rules' | 'llm';
}

export interface GroundingRules {
  minSentenceOverlap: number;
  maxUnsupportedShare: number;
}

const NUMBER = /\d+(?:[.,]\d+)*\s*(%|％|percent|个百分点)?/gu;
/** A sentence with fewer content words than this is a pleasantry; it is not judged. */
const MIN_TOKENS = 3;

/** "1,000" and "1000" are the same amount; "5%" is a percentage, "5" may be anything. */
function numbersOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const match of text.normalize('NFKC').matchAll(NUMBER)) {
    const value = (match[0].match(/\d+(?:[.,]\d+)*/)?.[0] ?? '').replace(/,(?=\d{3}\b)/g, '');
    found.add(value);
    if (match[1]) found.add(`${value}%`);
  }
  return found;
}

/** English content words (stemmed) and Han character pairs. */
function tokensOf(text: string): Set<string> {
  const tokens = new Set<string>();
  for (const word of latinWords(text))
    if (!isStopWord(word) && !/^\d/.test(word)) tokens.add(stemEnglish(word));
  for (const run of cjkRuns(text)) for (const gram of charBigrams(run)) tokens.add(gram);
  return tokens;
}

/** The overlap rules: every number in a passage, and most sentences mostly made of the passages' words. */
export function groundedByRules(
  written: string,
  passages: readonly string[],
  rules: GroundingRules,
): Grounding {
  // Citation markers ("[1]", "【2】") are the prompt's passage numbers, not claims.
  const answer = written.replace(/[[【]\d+[\]】]/g, ' ');
  const source = passages.join('\n');
  const known = numbersOf(source);
  const unsupportedNumbers = [...numbersOf(answer)].filter((n) => !known.has(n));
  const vocabulary = tokensOf(source);
  const judged = splitSentences(answer)
    .map((sentence) => ({ sentence: sentence.trim(), tokens: [...tokensOf(sentence)] }))
    .filter((s) => s.tokens.length >= MIN_TOKENS);
  const unsupportedSentences = judged
    .filter(
      (s) => s.tokens.filter((t) => vocabulary.has(t)).length / s.tokens.length < rules.minSentenceOverlap,
    )
    .map((s) => s.sentence);
  const share = judged.length ? unsupportedSentences.length / judged.length : 0;
  return {
    grounded: unsupportedNumbers.length === 0 && share <= rules.maxUnsupportedShare,
    unsupportedNumbers,
    unsupportedSentences,
    by: 'rules',
  };
}

const JUDGE_PROMPT = `You check a customer-service answer against the knowledge passages it was written from.
Answer with JSON {"supported": true} when every factual claim of the answer (amounts, fees, rates, durations,
conditions, promises) is stated in the passages, otherwise {"supported": false, "claims": [the unsupported claims]}.
Greetings and offers of further help need no support.`;

/**
 * The LLM's judgement. A failed call or an unreadable answer is no judgement: undefined, and the
 * caller uses the rules.
 */
export async function groundedByLlm(
  llm: LlmClient,
  answer: string,
  passages: readonly string[],
  tenant?: string,
): Promise<Grounding | undefined> {
  if (!llm.available()) return undefined;
  try {
    const result = await llm.chat({
      messages: [
        { role: 'system', content: JUDGE_PROMPT },
        {
          role: 'user',
          content: `Passages:\n${passages.map((p, i) => `[${i + 1}] ${p}`).join('\n\n')}\n\nAnswer:\n${answer}`,
        },
      ],
      responseFormat: {
        type: 'json_schema',
        name: 'groundedness',
        schema: {
          type: 'object',
          properties: {
            supported: { type: 'boolean' },
            claims: { type: 'array', items: { type: 'string' } },
          },
          required: ['supported'],
          additionalProperties: false,
        },
      },
      maxTokens: 200,
      temperature: 0,
      route: { task: 'classify', ...(tenant ? { tenant } : {}) },
    });
    const verdict = JSON.parse(result.text) as { supported?: unknown; claims?: unknown };
    if (typeof verdict.supported !== 'boolean') return undefined;
    const claims = Array.isArray(verdict.claims) ? verdict.claims.map(String) : [];
    return { grounded: verdict.supported, unsupportedNumbers: [], unsupportedSentences: claims, by: 'llm' };
  } catch {
    return undefined;
  }
}
