import { llmVersionAnswers, llmVersionFeedback, llmVersionHandoffs } from '../metrics';
import type { DialogProgress, ModelRelease } from '../types';

/**
 * The outcomes of an answer, counted against the model version that wrote it
 * (`hub_llm_version_*_total`): so a canary's handoff and thumbs-down rates can be set beside its
 * stable version's. The version rides in the conversation's state (`dialog.lastAnswer`) because
 * the outcome comes turns later; each answer counts at most one handoff and one feedback.
 */

/** An answer was given: by a model version, or not (extractive), which ends the previous one's claim. */
export function noteAnswer(progress: DialogProgress, release: ModelRelease | undefined, at: string): void {
  if (!release) {
    progress.lastAnswer = undefined;
    return;
  }
  progress.lastAnswer = { model: release.model, version: release.version, at };
  llmVersionAnswers.inc(release);
}

/** The conversation goes to a person. */
export function noteHandoff(progress: DialogProgress): void {
  const answer = progress.lastAnswer;
  if (!answer || answer.handedOff) return;
  answer.handedOff = true;
  llmVersionHandoffs.inc({ model: answer.model, version: answer.version });
}

/** The customer answered "did that help?" (a flow's `feedback: true` confirm step). */
export function noteFeedback(progress: DialogProgress, helpful: boolean): void {
  const answer = progress.lastAnswer;
  if (!answer || answer.feedback) return;
  answer.feedback = helpful ? 'helpful' : 'unhelpful';
  llmVersionFeedback.inc({ model: answer.model, version: answer.version, feedback: answer.feedback });
}
