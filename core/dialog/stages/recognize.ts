import type { NamedStage } from '../compose';
import type { IntentResult } from '../intent/recognizer';
import { type Entity, foldForMatching } from '../preprocess';
import type { StageDeps } from './deps';

/** The intent, by rules, the classifier, then the LLM; none while a person has the conversation. */
export const recognizeStage = (deps: StageDeps): NamedStage => ({
  name: 'recognize',
  run: async (turn, next) => {
    const { pre } = turn;
    if (!pre) return next();
    const query = turn.trace.query ?? pre.text;
    const recognized =
      turn.state.handoff === 'bot'
        ? await deps.dialog.recognizer.recognize(
            query === pre.text ? pre : { text: query, folded: foldForMatching(query) },
            { conversation: turn.state.conversationKey },
          )
        : unknownIntent();
    // Mid-flow an order id answers the flow's question; outside one it asks about that order.
    turn.trace.intent = turn.progress.flow.stack.length
      ? recognized
      : orderIdMeansOrderStatus(deps, recognized, pre.entities);
    return next();
  },
});

/** A message that is just an order id (or one with an unclear intent) asks about that order. */
function orderIdMeansOrderStatus(deps: StageDeps, intent: IntentResult, entities: Entity[]): IntentResult {
  if (intent.name !== 'unknown' && intent.name !== 'faq') return intent;
  if (!entities.some((e) => e.type === 'order_id')) return intent;
  if (!deps.dialog.runtime.flowFor('order_status')) return intent;
  return { ...intent, name: 'order_status', confidence: 1, tier: 'rules' };
}

function unknownIntent(): IntentResult {
  return { name: 'unknown', confidence: 0, tier: 'none', candidates: [] };
}
