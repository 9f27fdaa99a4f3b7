import type { HubConfig } from '../../config/schema';
import { logger } from '../log';
import { llmFallbacks, timed } from '../metrics';
import { buildRagMessages, extractiveAnswer } from '../rag';
import {
  type Citation,
  type DialogState,
  HubError,
  type InboundEvent,
  type LlmClient,
  type OutboundMessage,
  type Passage,
  type Retriever,
  type Turn,
} from '../types';
import type { DialogCommands } from './commands';
import { cleanText, detectLanguage, type Language } from './language';
import { say } from './messages';

export interface EngineDeps {
  config: HubConfig;
  retriever: Retriever;
  /** Absent on the embedded default: answers are then extractive. */
  llm?: LlmClient;
  /** Order and handoff commands, checked before retrieval. */
  commands?: DialogCommands;
}

export interface TurnResult {
  replies: OutboundMessage[];
  state: DialogState;
}

const HANDLED_IDS_KEPT = 200;

export function emptyState(conversationKey: string): DialogState {
  return {
    conversationKey,
    slots: {},
    history: [],
    handoff: 'bot',
    handledEventIds: [],
    updatedAt: new Date(0).toISOString(),
  };
}

interface Answer {
  text: string;
  citations: Citation[];
  source: OutboundMessage['source'];
}

/**
 * Turns one inbound event and the conversation's state into replies and the next state.
 * Pure with respect to storage: the caller persists, so a redelivered event can be answered once.
 */
export class DialogEngine {
  constructor(private readonly deps: EngineDeps) {}

  async respond(event: InboundEvent, state: DialogState): Promise<TurnResult> {
    const now = new Date().toISOString();
    const next: DialogState = {
      ...state,
      handledEventIds: [...state.handledEventIds, event.id].slice(-HANDLED_IDS_KEPT),
      updatedAt: now,
    };
    if (event.kind !== 'message' && event.kind !== 'action') return { replies: [], state: next };
    // Group chatter not aimed at the bot is recorded, not answered.
    if (event.addressedToBot === false) return { replies: [], state: next };
    if (state.handoff === 'human') return { replies: [], state: next };

    const text = cleanText(event.text ?? event.action?.title ?? '');
    const language = detectLanguage(text, event.locale ?? state.locale);
    next.locale = language;
    const command = text
      ? await this.deps.commands?.handle({ event, text, language, state: next })
      : undefined;
    const answer: Answer = command
      ? { text: command.text, citations: [], source: 'flow' }
      : text
        ? await this.answer(text, language, state.history, event.ref.tenant)
        : this.fixedAnswer(event, language);

    const userTurn: Turn = { role: 'user', text, at: event.receivedAt, eventId: event.id, locale: language };
    const botTurn: Turn = { role: 'assistant', text: answer.text, at: now, locale: language };
    next.history = [...state.history, userTurn, botTurn].slice(-this.deps.config.state.historyTurns);

    const reply: OutboundMessage = {
      id: `${event.id}#0`,
      ref: event.ref,
      inReplyTo: event.id,
      content: { type: 'text', text: answer.text, format: 'markdown' },
      citations: answer.citations,
      locale: language,
      createdAt: now,
      source: answer.source,
    };
    return { replies: [reply], state: next };
  }

  private fixedAnswer(event: InboundEvent, language: Language): Answer {
    const key = event.attachments?.length ? 'attachmentOnly' : 'emptyMessage';
    return { text: say(key, language), citations: [], source: 'system' };
  }

  private async answer(
    question: string,
    language: Language,
    history: Turn[],
    tenant: string,
  ): Promise<Answer> {
    const { knowledge } = this.deps.config;
    const passages = await timed('retrieve', () =>
      // The tenant's own knowledge and the shared knowledge; never another tenant's.
      this.deps.retriever.search(question, { k: knowledge.topK, language, tenant }),
    );
    const llm = this.deps.llm;
    if (!llm) return this.extractive(question, passages, language, 'disabled');
    if (!llm.available()) return this.extractive(question, passages, language, 'circuit_open');
    try {
      return await timed('generate', () => this.generate(llm, question, passages, language, history));
    } catch (error) {
      const code = error instanceof HubError ? error.code : 'llm.unknown';
      logger.warn({ code }, 'LLM failed; answering extractively');
      return this.extractive(question, passages, language, code === 'llm.timeout' ? 'timeout' : 'error');
    }
  }

  private async generate(
    llm: LlmClient,
    question: string,
    passages: Passage[],
    language: Language,
    history: Turn[],
  ): Promise<Answer> {
    const { config } = this.deps;
    const prompt = buildRagMessages({
      question,
      passages,
      history,
      language,
      budgetTokens: config.knowledge.promptBudgetTokens,
    });
    const result = await llm.chat({
      messages: prompt.messages,
      maxTokens: config.llm.maxTokens,
      temperature: config.llm.temperature,
    });
    const text = result.text.trim();
    if (!text) throw new HubError('llm.empty', 'The model returned an empty answer', { retryable: true });
    return { text, citations: prompt.citations, source: 'llm' };
  }

  private extractive(question: string, passages: Passage[], language: Language, reason: string): Answer {
    llmFallbacks.inc({ reason });
    const { text, citations } = extractiveAnswer(question, passages, language);
    return { text, citations, source: 'extractive' };
  }
}
