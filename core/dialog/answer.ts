import type { HubConfig } from '../config/schema';
import { LLM_BUDGET_EXCEEDED } from '../llm/budget';
import { logger } from '../log';
import { llmFallbacks, timed } from '../metrics';
import { buildRagMessages, extractiveAnswer } from '../rag';
import { tracedChat } from '../telemetry/llm';
import { inSpan } from '../telemetry/trace';
import {
  type Citation,
  HubError,
  type LlmClient,
  type ModelRelease,
  type Passage,
  type Retriever,
  type RouteHint,
  type Turn,
} from '../types';
import { type ContextConfig, fitHistory } from './context/window';
import type { ActionContext, ActionHandler, ActionOutcome } from './flows/actions';
import type { Language } from './language';

export interface AnswerDeps {
  config: HubConfig;
  retriever: Retriever;
  /** Absent on the embedded default: answers are then extractive. */
  llm?: LlmClient;
  /** How much of the conversation the model sees (dialog file `context`). */
  context: ContextConfig;
}

/** What the answer generation needs. */
interface AnswerInput {
  question: string;
  passages: Passage[];
  language: Language;
  history: Turn[];
  route: RouteHint;
  onText?: (textSoFar: string) => void;
  signal?: AbortSignal;
}

/**
 * The built-in `answer` action: retrieval in the tenant's and the shared knowledge, then the LLM
 * (or the best passage when there is none). Fails when nothing relevant is found, so flows and the
 * policy can offer a person instead of a guess. Its data carries `text`, `citations` and `source`.
 */
export function createAnswerAction(deps: AnswerDeps): ActionHandler {
  return (params, ctx) => answer(deps, params.query ?? '', ctx);
}

async function answer(deps: AnswerDeps, question: string, ctx: ActionContext): Promise<ActionOutcome> {
  if (!question.trim()) return { ok: false, error: 'empty question' };
  const { language } = ctx;
  const tenant = ctx.tenant ?? 'default';
  const k = deps.config.knowledge.topK;
  const attributes = { 'hub.tenant': tenant, 'hub.language': language, 'hub.rag.top_k': k };
  const passages = await inSpan('rag.retrieve', { attributes }, async (span) => {
    const found = await timed('retrieve', () => deps.retriever.search(question, { k, language, tenant }));
    span.setAttribute('hub.rag.passages', found.length);
    return found;
  });
  const extract = extractiveAnswer(question, passages, language);
  // Which passages and how they scored: the turn's audit record names them.
  const retrieved = passages.map((passage) => ({ id: passage.id, score: passage.score }));
  if (extract.citations.length === 0) return { ok: false, error: 'nothing relevant', data: { retrieved } };
  const extractive = (reason: string): ActionOutcome => {
    llmFallbacks.inc({ reason });
    return { ok: true, data: { ...extract, source: 'extractive', fallback: reason, retrieved } };
  };
  const llm = deps.llm;
  if (!llm) return extractive('disabled');
  if (!llm.available()) return extractive('circuit_open');
  const input: AnswerInput = {
    question,
    passages,
    language,
    history: ctx.state?.history ?? [],
    route: {
      tenant,
      intent: ctx.intent,
      confidence: ctx.confidence,
      task: 'answer',
      question,
      conversation: ctx.conversationKey,
    },
    onText: ctx.onText,
    signal: ctx.signal,
  };
  try {
    const generated = await timed('generate', () => generate(deps, llm, input));
    return { ok: true, data: { ...generated, retrieved } };
  } catch (error) {
    // Called off (an answer started before the intent was known, not needed after all): no fallback.
    if (ctx.signal?.aborted) return { ok: false, error: 'aborted', data: { retrieved } };
    const code = error instanceof HubError ? error.code : 'llm.unknown';
    if (code === LLM_BUDGET_EXCEEDED) return extractive('budget');
    logger.warn({ code }, 'LLM failed; answering extractively');
    return extractive(code === 'llm.timeout' ? 'timeout' : 'error');
  }
}

async function generate(
  { config, context }: AnswerDeps,
  llm: LlmClient,
  { question, passages, language, history, route, onText, signal }: AnswerInput,
): Promise<{
  text: string;
  citations: Citation[];
  source: 'llm';
  passages: string[];
  release?: ModelRelease;
}> {
  // Whole turns that fit the model's context, newest first; the prompt budget trims further.
  const window = fitHistory(history, context);
  const prompt = buildRagMessages({
    question,
    passages,
    history: window.summary
      ? [{ role: 'assistant', text: window.summary, at: window.turns[0]?.at ?? '' }, ...window.turns]
      : window.turns,
    language,
    budgetTokens: config.knowledge.promptBudgetTokens,
  });
  let soFar = '';
  const result = await tracedChat(llm, {
    messages: prompt.messages,
    maxTokens: config.llm.maxTokens,
    temperature: config.llm.temperature,
    route,
    signal,
    ...(onText
      ? {
          onDelta: (delta: string) => {
            soFar += delta;
            onText(soFar);
          },
        }
      : {}),
  });
  const text = result.text.trim();
  if (!text) throw new HubError('llm.empty', 'The model returned an empty answer', { retryable: true });
  // Which model version wrote it, so a later handoff or "did not help" is counted against it.
  return {
    text,
    citations: prompt.citations,
    source: 'llm',
    // What the model was given: the groundedness check (core/safety) compares the answer with it.
    passages: prompt.usedPassages.map((passage) => passage.text),
    ...(result.release ? { release: result.release } : {}),
  };
}
