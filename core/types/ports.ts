import type { FlowState } from '../dialog/flows/runtime';
import type { InboundEvent } from './events';
import type { Citation, OutboundMessage } from './outbound';

/* ---------- bus ---------- */

export interface DeliveryContext {
  /** 1 on first delivery. */
  attempt: number;
  /**
   * Monotonic token of the conversation lock held for this delivery. Writes guarded by it are
   * refused once a newer holder exists, so a stalled worker cannot overwrite a newer one.
   */
  fencingToken: number;
  signal: AbortSignal;
}

export type EventHandler = (event: InboundEvent, ctx: DeliveryContext) => Promise<void>;

export interface PublishResult {
  /** False when the event id was seen within the dedupe window: nothing was enqueued. */
  accepted: boolean;
}

export interface DeadLetter {
  event: InboundEvent;
  error: string;
  attempts: number;
  failedAt: string;
}

/**
 * Durable inbound bus. At-least-once delivery, dedupe by event id, strict order within a
 * conversation, parallel across conversations, retries with backoff, then a dead-letter queue.
 */
export interface EventBus {
  publish(event: InboundEvent): Promise<PublishResult>;
  /** Start consuming. One handler per bus instance. */
  consume(handler: EventHandler): Promise<void>;
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Re-enqueue dead letters (all, or those with the given event ids); returns how many. */
  replayDeadLetters(eventIds?: string[]): Promise<number>;
  /** Events accepted but not yet handled, across all conversations. */
  pending(): Promise<number>;
  ping(): Promise<void>;
  /** Stop taking new work, finish in-flight handlers, release connections. */
  close(): Promise<void>;
}

/** Fan-out of produced replies to whichever process holds the customer's connection (lossy; the store is the truth). */
export interface OutboundFeed {
  publish(message: OutboundMessage): Promise<void>;
  subscribe(listener: (message: OutboundMessage) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/* ---------- dialog state ---------- */

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

/* ---------- relational store ---------- */

export interface CustomerIdentity {
  channel: string;
  tenant: string;
  userId: string;
  displayName?: string;
}

export interface TranscriptEntry {
  id: string;
  conversationKey: string;
  direction: 'in' | 'out';
  text: string;
  at: string;
  inReplyTo?: string;
  payload: InboundEvent | OutboundMessage;
}

export interface HubStore {
  migrate(): Promise<void>;
  /** Find or create the customer behind a channel identity; returns the customer id. */
  upsertCustomer(identity: CustomerIdentity): Promise<string>;
  /** Idempotent on event id: `inserted` is false on a repeat. */
  recordInbound(event: InboundEvent, customerId?: string): Promise<{ inserted: boolean }>;
  /** Idempotent on message id. */
  recordOutbound(message: OutboundMessage): Promise<{ inserted: boolean }>;
  transcript(conversationKey: string, options?: { limit?: number }): Promise<TranscriptEntry[]>;
  /** Replies produced for an inbound event, in order. */
  repliesTo(inboundEventId: string): Promise<OutboundMessage[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/* ---------- LLM ---------- */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  toolCallId?: string;
  toolCalls?: ToolCall[];
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** Raw JSON string as the model produced it. */
  arguments: string;
}

/**
 * Constrain the answer to JSON that follows `schema`: OpenAI's `response_format: json_schema`,
 * which vLLM serves by guided decoding.
 */
export interface ResponseFormat {
  type: 'json_schema';
  name: string;
  schema: Record<string, unknown>;
  strict?: boolean;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  responseFormat?: ResponseFormat;
  maxTokens?: number;
  temperature?: number;
  /** Called with each streamed text delta. */
  onDelta?: (delta: string) => void;
  signal?: AbortSignal;
  model?: string;
  /** What the request is for, so a router (core/llm/router.ts) can pick a light or main model. */
  route?: RouteHint;
}

/** Routing hint. Absent: the request goes to the main model. */
export interface RouteHint {
  /** A tenant with a LoRA adapter (llm.routing.tenants) gets the adapter on the main endpoint. */
  tenant?: string;
  intent?: string;
  confidence?: number;
  /** classify and rewrite go to the light model; answer follows the other rules. */
  task?: 'answer' | 'classify' | 'rewrite';
  /** The customer's question as typed, for the short-question rule (default: the last user message). */
  question?: string;
}

export interface ChatResult {
  text: string;
  toolCalls: ToolCall[];
  model: string;
  finishReason: string;
  usage?: { promptTokens: number; completionTokens: number };
}

export interface LlmClient {
  chat(request: ChatRequest): Promise<ChatResult>;
  /** False while the circuit is open. */
  available(): boolean;
}

/* ---------- knowledge ---------- */

export interface KnowledgeChunk {
  id: string;
  docId: string;
  title: string;
  section?: string;
  text: string;
  /** "zh" or "en" (or another ISO 639-1 code). */
  language: string;
  source: string;
  tags: string[];
  tenant?: string;
  /** Link a channel can render as the citation (front matter `url`, an HTML page's canonical link). */
  url?: string;
  /** When the source document last changed (ISO 8601). */
  updatedAt?: string;
}

export interface Passage extends KnowledgeChunk {
  score: number;
}

export interface SearchOptions {
  k?: number;
  language?: string;
  tenant?: string;
  /** Only chunks carrying at least one of these tags. */
  tags?: string[];
}

export interface Retriever {
  index(chunks: KnowledgeChunk[]): Promise<void>;
  search(query: string, options?: SearchOptions): Promise<Passage[]>;
  count(): Promise<number>;
}

export function citationOf(passage: KnowledgeChunk): Citation {
  return {
    id: passage.id,
    title: passage.title,
    source: passage.source,
    ...(passage.url ? { url: passage.url } : {}),
  };
}
