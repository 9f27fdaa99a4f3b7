import { z } from 'zod';
import {
  asksForHuman,
  botIsSilent,
  failedTooOften,
  type HandoffReason,
  isAngry,
  lowConfidenceTooLong,
} from './rules';

export const policyConfigSchema = z
  .object({
    /** Anger score (lexicon weights + shouting) at which the conversation goes to a human. */
    angerThreshold: z.number().int().min(1).default(2),
    /** Consecutive failed turns before a handoff. */
    maxFailures: z.number().int().min(1).default(3),
    /** Consecutive messages of unknown intent (with nothing retrieved) before a handoff. */
    unknownStreakLimit: z.number().int().min(1).default(3),
    /** The intent that means "I want a human". */
    handoffIntent: z.string().default('handoff'),
  })
  .prefault({});
export type PolicyConfig = z.infer<typeof policyConfigSchema>;

export interface PolicyInput {
  handoff: 'bot' | 'waiting' | 'human';
  /** The message as received (shouting is read here) and folded (lexicons are read here). */
  raw: string;
  folded: string;
  intent: { name: string; confidence: number };
  /** A flow is in progress for this conversation. */
  flowActive: boolean;
  /** The intent starts a flow. */
  intentStartsFlow: boolean;
  consecutiveFailures: number;
  /** Messages of unknown intent in a row before this one. */
  unknownStreak: number;
}

export type Decision =
  | { type: 'silent' }
  /** Queued for a human who has not taken over yet: say so, start nothing. */
  | { type: 'wait' }
  | { type: 'handoff'; reason: HandoffReason }
  | { type: 'flow' }
  | { type: 'answer' };

/**
 * The next move, deterministically, by the first rule that applies:
 * silent (a human owns it) → wait (queued for one) → hand off (asked for, anger, repeated failure) → flow (one is active
 * or the intent starts one; the flow clarifies missing slots and confirms before irreversible
 * actions) → hand off (intent unknown too long) → answer from the knowledge base.
 */
export function decide(input: PolicyInput, config: PolicyConfig): Decision {
  if (botIsSilent(input.handoff)) return { type: 'silent' };
  if (input.handoff === 'waiting') return { type: 'wait' };
  if (asksForHuman(input.folded, input.intent, config.handoffIntent))
    return { type: 'handoff', reason: 'explicit' };
  if (isAngry(input.raw, input.folded, config.angerThreshold)) return { type: 'handoff', reason: 'anger' };
  if (failedTooOften(input.consecutiveFailures, config.maxFailures))
    return { type: 'handoff', reason: 'repeated_failure' };
  if (input.flowActive || input.intentStartsFlow) return { type: 'flow' };
  const unknown = input.intent.name === 'unknown';
  if (unknown && lowConfidenceTooLong(input.unknownStreak + 1, config.unknownStreakLimit)) {
    return { type: 'handoff', reason: 'low_confidence' };
  }
  return { type: 'answer' };
}
