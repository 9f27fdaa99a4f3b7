import type { FlowState } from './flow';

export interface Turn {
  role: 'user' | 'assistant';
  text: string;
  at: string;
  eventId?: string;
  locale?: string;
}

export interface DialogState {
  conversationKey: string;
  intent?: { name: string; confidence: number };
  slots: Record<string, unknown>;
  history: Turn[];
  activeFlow?: { name: string; step: string; startedAt: string };
  handoff: 'bot' | 'waiting' | 'human';
  locale?: string;
  /** The dialog engine's own progress (core/dialog): flows in progress, failure counters, handoff times. */
  dialog?: DialogProgress;
  /** Recently handled inbound event ids: a redelivered event is answered once. */
  handledEventIds: string[];
  updatedAt: string;
}

export interface DialogProgress {
  flow: FlowState;
  /** Failed turns in a row (invalid slot values, failed actions, unanswered questions). */
  failures: number;
  /** Messages of unknown intent in a row. */
  unknownStreak: number;
  /** When `handoff` last changed. */
  handoffAt?: string;
  /** The helpdesk ticket a person answers through, once one exists. */
  ticket?: { adapter: string; id: string };
  /** Last message from the agent while a human owns the conversation. */
  agentAt?: string;
  /**
   * The model version behind the latest answer (core/dialog/model-outcomes.ts): a handoff or a
   * "did not help" that follows is counted against it, once each.
   */
  lastAnswer?: {
    model: string;
    version: string;
    at: string;
    handedOff?: boolean;
    feedback?: 'helpful' | 'unhelpful';
  };
  /** The satisfaction survey of this conversation (core/dialog/survey.ts): asked at most once. */
  survey?: {
    /** When the survey was asked; a conversation idle longer than `analytics.abandonAfterMinutes` starts afresh. */
    askedAt?: string;
    /** The survey waits for its rating (the next customer message answers it, or leaves it). */
    pending?: { scale: 'thumbs' | '1-5' };
    /** A "did not help" or an "I don't know" in this conversation: it was not resolved, no after-resolution survey. */
    unresolved?: boolean;
    /** The last customer turn, to tell a new conversation from a continued one. */
    lastAt?: string;
  };
}

export interface StateStore {
  load(conversationKey: string): Promise<DialogState | undefined>;
  /**
   * Save with TTL. When `fencingToken` is given, the write is refused (HubError code
   * `state.fenced`) if a write with a higher token already happened for this conversation.
   */
  save(state: DialogState, options?: { fencingToken?: number }): Promise<void>;
  delete(conversationKey: string): Promise<void>;
  close(): Promise<void>;
}

export interface ConversationLock {
  readonly token: number;
  /** Extend the lease; false if it was lost. */
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface LockManager {
  /** Try to take the lock; undefined when someone else holds it. Tokens grow monotonically per key. */
  tryAcquire(key: string, ttlMs: number): Promise<ConversationLock | undefined>;
  close(): Promise<void>;
}
