import type { ActionSpec } from '../flows/actions';
import {
  ANGER_WORDS,
  anyPhrase,
  bareReply,
  containsPhrase,
  coveredBy,
  HANDOFF_COMMANDS,
  HANDOFF_PHRASES,
  REPLY_FILLERS,
} from './lexicon';

/**
 * The policy's rules, one function each, each unit-tested on its own. `decide` (./policy.ts)
 * composes them in a fixed order of priority; the flow runtime uses the slot and confirmation rules.
 */

/** `safety`: a content-safety category whose action is a handoff (core/dialog/stages/safety-input.ts). */
export type HandoffReason = 'explicit' | 'anger' | 'repeated_failure' | 'low_confidence' | 'safety';

/** R1 — while a human owns the conversation the bot says nothing at all. */
export function botIsSilent(handoff: 'bot' | 'waiting' | 'human'): boolean {
  return handoff === 'human';
}

/**
 * R2 — the customer asks for a person: by intent, by a phrase of the lexicon anywhere, or by a
 * short message that is only a handoff command ("agent", "人工", "agent please!").
 */
export function asksForHuman(
  folded: string,
  intent: { name: string } | undefined,
  handoffIntent = 'handoff',
): boolean {
  return (
    intent?.name === handoffIntent ||
    anyPhrase(folded, HANDOFF_PHRASES) !== undefined ||
    isHandoffCommand(folded)
  );
}

const COMMAND_WORDS = [
  ...HANDOFF_COMMANDS.zh,
  ...HANDOFF_COMMANDS.en,
  ...REPLY_FILLERS.zh,
  ...REPLY_FILLERS.en,
  ...[
    '我要',
    '要',
    '找',
    '请',
    '给我',
    '转',
    '接',
    'i want',
    'want',
    'get me',
    'give me',
    'an',
    'a',
    'the',
    'to',
    'talk to',
    'speak to',
    'chat with',
    'real',
    'live',
  ],
];

/** The whole (short) message is a request for a person, in words that elsewhere mean other things. */
export function isHandoffCommand(folded: string): boolean {
  const text = bareReply(folded);
  if (!text || Array.from(text).length > 24) return false;
  const words = coveredBy(text, COMMAND_WORDS);
  return words?.some((w) => HANDOFF_COMMANDS.zh.includes(w) || HANDOFF_COMMANDS.en.includes(w)) ?? false;
}

/**
 * R3 — anger score: lexicon weights, plus one for shouting (three or more "!" in the raw text, or
 * three or more upper-case English words). Measured on the raw text: cleaning collapses "!!!".
 */
export function angerScore(raw: string, folded: string): number {
  let score = 0;
  for (const [word, weight] of Object.entries(ANGER_WORDS.zh)) if (folded.includes(word)) score += weight;
  for (const [word, weight] of Object.entries(ANGER_WORDS.en))
    if (containsPhrase(folded, word)) score += weight;
  const normalized = raw.normalize('NFKC');
  if (/!{3,}/u.test(normalized) || /\?!|!\?/u.test(normalized)) score += 1;
  if ((normalized.match(/\b[A-Z]{2,}\b/gu) ?? []).length >= 3) score += 1;
  return score;
}

export function isAngry(raw: string, folded: string, threshold: number): boolean {
  return angerScore(raw, folded) >= threshold;
}

/** R4 — consecutive failed turns (invalid slot values, failed actions, unanswered questions). */
export function failedTooOften(consecutiveFailures: number, maxFailures: number): boolean {
  return consecutiveFailures >= maxFailures;
}

/** R6 — intent unknown for this many messages in a row (this one included). */
export function lowConfidenceTooLong(unknownStreak: number, limit: number): boolean {
  return unknownStreak >= limit;
}

/**
 * Topic-switch rule — mid-flow, a message answers the flow's question unless it clearly asks for
 * something else: a keyword rule or the LLM said so, or the classifier is very sure. A classifier
 * trained on a few examples is often fairly sure about a plain answer ("他态度非常不好").
 */
export function maySwitchTopic(intent: { confidence: number; tier?: string }, classifierMin = 0.9): boolean {
  return intent.tier === 'rules' || intent.tier === 'llm' || intent.confidence >= classifierMin;
}

/** Clarify rule — the one slot to ask for: the first required slot not yet filled, or none. */
export function nextMissingSlot(required: string[], filled: Record<string, unknown>): string | undefined {
  return required.find((slot) => filled[slot] === undefined || filled[slot] === '');
}

/** Confirm rule — an irreversible action needs the customer's yes for exactly this step. */
export function requiresConfirmation(
  spec: ActionSpec,
  confirmedStep: string | undefined,
  step: string,
): boolean {
  return spec.irreversible && confirmedStep !== step;
}

/**
 * Who may start an action: flows (after the confirm rule) may run any; the LLM (a tool call) only
 * reversible ones. An irreversible action the LLM asks for is turned into a question to the customer.
 */
export function mayRun(spec: ActionSpec, origin: 'flow' | 'llm'): boolean {
  return origin === 'flow' || !spec.irreversible;
}
