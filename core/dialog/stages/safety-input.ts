import {
  countHit,
  injectionByLlm,
  injectionRule,
  SAFETY_MESSAGES,
  strongerOf,
  strongest,
} from '../../safety';
import type { NamedStage } from '../compose';
import { sayText, type TurnContext } from '../turn-context';
import type { StageDeps } from './deps';
import { handOff, messageInput } from './flow-run';

/**
 * Content safety on what the customer wrote (core/safety): the tenant's sensitive-word lexicon and
 * the prompt-injection screen. A hit is counted and, by its category's action, answered with the
 * fixed refusal, handed to a person, or only flagged (the turn goes on). While a person is awaited
 * or in charge, the message is only counted: it still reaches them.
 */
export const safetyInputStage = (deps: StageDeps): NamedStage => ({
  name: 'safetyInput',
  run: async (turn, next) => {
    const kit = deps.dialog.safety;
    const text = turn.pre?.text;
    if (!kit?.config.enabled || !text) return next();
    const tenant = turn.event.ref.tenant;
    const hits = kit.forTenant(tenant).matcher.scan(text);
    for (const hit of hits) {
      countHit(hit.category, 'input');
      turn.trace.safety.push({ stage: 'input', category: hit.category, word: hit.word, action: hit.action });
    }
    const { injection } = kit.config;
    let injected = false;
    if (injection.enabled) {
      const rule = injectionRule(text);
      injected =
        rule !== undefined ||
        (injection.llm && deps.llm ? await injectionByLlm(deps.llm, text, tenant) : false);
      if (injected) {
        countHit('prompt_injection', 'injection');
        turn.trace.safety.push({
          stage: 'injection',
          category: 'prompt_injection',
          word: rule ?? 'llm',
          action: injection.action,
        });
      }
    }
    const action = strongerOf(strongest(hits, 'action'), injected ? injection.action : undefined);
    if (!action || action === 'flag' || turn.state.handoff !== 'bot') return next();
    turn.source = 'system';
    if (action === 'handoff') {
      turn.trace.decision = { type: 'handoff', reason: 'safety' };
      sayText(turn, SAFETY_MESSAGES.handoff[turn.language]);
      await handOff(turn, deps, messageInput(turn), 'safety');
      return;
    }
    refuse(turn, injected && !hits.some((h) => h.action !== 'flag') ? 'injection' : 'refuse');
  },
});

function refuse(turn: TurnContext, key: 'injection' | 'refuse'): void {
  sayText(turn, SAFETY_MESSAGES[key][turn.language]);
}
