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
  /** The conversation's key: a canary split keeps each conversation on one model version. */
  conversation?: string;
}

/** Which configured model (`llm.models[].name`, a canary under its stable name) and version answered. */
export interface ModelRelease {
  model: string;
  version: string;
}

export interface ChatResult {
  text: string;
  toolCalls: ToolCall[];
  model: string;
  finishReason: string;
  usage?: { promptTokens: number; completionTokens: number };
  /** Set by a router over `llm.models`: the release that produced this result. */
  release?: ModelRelease;
}

export interface LlmClient {
  chat(request: ChatRequest): Promise<ChatResult>;
  /** False while the circuit is open. */
  available(): boolean;
}
