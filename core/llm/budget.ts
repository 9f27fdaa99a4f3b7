import type { AccessLimits } from '../security/access-limits';
import { HubError } from '../types/errors';
import type { LlmClient } from '../types/llm';

export const LLM_BUDGET_EXCEEDED = 'llm.budget_exceeded';

/**
 * The model under security.rateLimits.llm: calls per conversation and per tenant per window. Over a
 * budget the call is refused before it costs anything, with the coded error `llm.budget_exceeded`
 * (429, not retryable); every caller already answers without the model on a failed call (the
 * answer extractively, intent by its rules, the rewrite by the message as typed), so one wrapper
 * covers them all and the dialog does not change.
 */
export function budgetedLlm(llm: LlmClient, limits: AccessLimits): LlmClient {
  const refuse = (scope: 'llm.conversation' | 'llm.tenant', retryAfterSeconds: number) =>
    new HubError(LLM_BUDGET_EXCEEDED, `Model budget spent (${scope}); retry in ${retryAfterSeconds} s`, {
      status: 429,
    });
  return {
    available: () => llm.available(),
    async chat(request) {
      const conversation = request.route?.conversation;
      if (conversation) {
        const verdict = await limits.take('llm.conversation', conversation, 'llm');
        if (verdict.limited) throw refuse('llm.conversation', verdict.retryAfterSeconds);
      }
      const tenant = request.route?.tenant;
      if (tenant) {
        const verdict = await limits.take('llm.tenant', tenant, 'llm');
        if (verdict.limited) throw refuse('llm.tenant', verdict.retryAfterSeconds);
      }
      return llm.chat(request);
    },
  };
}
