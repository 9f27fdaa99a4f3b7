import type { NamedStage } from '../compose';
import type { IntentResult } from '../intent/recognizer';
import { type Entity, foldForMatching } from '../preprocess';
import type { StageDeps } from './deps';
import { dropSpeculativeAnswer, startSpeculativeAnswer } from './speculative-answer';

/**
 * The intent, by rules, the classifier, then the LLM; none while a person has the conversation.
 * With `dialog.llmIntentTier: speculative` and no flow in progress, the answer starts beside the LLM
 * tier (stages/speculative-answer.ts): used by the answer action if the turn asks for it, called
 * off as soon as the intent leads elsewhere, and at the latest when the turn ends.
 */
export const recognizeStage = (deps: StageDeps): NamedStage => ({
  name: 'recognize',
  run: async (turn, next) => {
    const { pre } = turn;
    if (!pre) return next();
    const query = turn.trace.query ?? pre.text;
    const flowActive = turn.progress.flow.stack.length > 0;
    const speculate =
      deps.config.dialog.llmIntentTier === 'speculative' && !flowActive && !routesByIntent(deps);
    const recognized =
      turn.state.handoff === 'bot'
        ? await deps.dialog.recognizer.recognize(
            query === pre.text ? pre : { text: query, folded: foldForMatching(query) },
            {
              conversation: turn.state.conversationKey,
              ...(speculate ? { onLlmTier: () => startSpeculativeAnswer(turn, deps, query) } : {}),
            },
          )
        : unknownIntent();
    // Mid-flow an order id answers the flow's question; outside one it asks about that order.
    const intent = flowActive ? recognized : orderIdMeansOrderStatus(deps, recognized, pre.entities);
    turn.trace.intent = intent;
    if (!leadsToAnswer(deps, intent.name)) dropSpeculativeAnswer(turn);
    try {
      return await next();
    } finally {
      dropSpeculativeAnswer(turn);
    }
  },
});

/**
 * With `llm.routing.lightIntents` the answer's model depends on the intent, so an answer started
 * before the intent is known could go to the wrong one: such deployments classify first.
 */
function routesByIntent(deps: StageDeps): boolean {
  return Boolean(deps.config.llm.models && deps.config.llm.routing?.lightIntents.length);
}

/** An unknown intent is answered from the knowledge; a known one when its flow starts by answering (faq). */
function leadsToAnswer(deps: StageDeps, intent: string): boolean {
  if (intent === 'unknown') return true;
  const first = deps.dialog.runtime.flowFor(intent)?.steps[0];
  return first?.type === 'action' && first.action === 'answer';
}

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
