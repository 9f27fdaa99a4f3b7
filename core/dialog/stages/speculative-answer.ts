import { speculativeAnswers } from '../../metrics';
import type { ActionOutcome, ActionRequest } from '../flows/actions';
import { actionContextOf, type TurnContext } from '../turn-context';
import type { StageDeps } from './deps';

/**
 * `dialog.llmIntentTier: speculative`: when the LLM intent tier is about to ask the model, the answer
 * action (retrieval, then generation) starts beside it with the same query. If the turn then runs
 * the answer action with that query — the intent was FAQ or unknown — it takes this answer instead
 * of starting another; otherwise the answer is called off (its model request aborted) when the
 * intent is known to lead elsewhere, or at the latest when the turn ends.
 */
interface Speculation {
  query: string;
  outcome: Promise<ActionOutcome>;
  controller: AbortController;
  used: boolean;
  /** The text streamed so far: the turn's draft sees it only once the answer is used. */
  draft?: string;
}

const running = new WeakMap<TurnContext, Speculation>();

export function startSpeculativeAnswer(turn: TurnContext, deps: StageDeps, query: string): void {
  if (running.has(turn) || !deps.dialog.actions.has('answer')) return;
  const controller = new AbortController();
  const speculation: Speculation = {
    query,
    controller,
    used: false,
    outcome: Promise.resolve({ ok: false, error: '' }),
  };
  const onDraft = turn.onDraft;
  const request: ActionRequest = {
    id: `answer:${turn.event.id}`,
    action: 'answer',
    params: { query },
    irreversible: false,
    flow: '',
    step: '',
  };
  speculation.outcome = deps.dialog.actions.run(request, {
    ...actionContextOf(turn),
    signal: controller.signal,
    ...(onDraft
      ? {
          onText: (text: string) => {
            speculation.draft = text;
            if (speculation.used) onDraft(text);
          },
        }
      : {}),
  });
  running.set(turn, speculation);
}

/** The speculative answer, when this request asks for exactly it; undefined otherwise (run the action). */
export function takeSpeculativeAnswer(
  turn: TurnContext,
  request: ActionRequest,
): Promise<ActionOutcome> | undefined {
  const speculation = running.get(turn);
  if (!speculation || request.action !== 'answer' || request.params.query !== speculation.query) {
    return undefined;
  }
  running.delete(turn);
  speculation.used = true;
  speculativeAnswers.inc({ outcome: 'used' });
  if (speculation.draft !== undefined) turn.onDraft?.(speculation.draft);
  return speculation.outcome;
}

/** Call the speculative answer off, if one is still waiting to be used. */
export function dropSpeculativeAnswer(turn: TurnContext): void {
  const speculation = running.get(turn);
  if (!speculation) return;
  running.delete(turn);
  speculation.controller.abort();
  speculativeAnswers.inc({ outcome: 'dropped' });
}
