/**
 * What the OpenAI emulator answers: default replies, the wire shapes of completions and stream
 * chunks, and deterministic embeddings. Kept apart from the HTTP plumbing in openai-emulator.ts.
 */

export interface ChatBody {
  model?: string;
  messages?: { role: string; content?: string | null; tool_call_id?: string; tool_calls?: unknown[] }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  max_tokens?: number;
  temperature?: number;
  chat_template_kwargs?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface ScriptedToolCall {
  name: string;
  /** An object is sent as its JSON; a string is sent as is (so tests can send broken JSON). */
  arguments: string | Record<string, unknown>;
  id?: string;
}

export interface ScriptedReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  finishReason?: string;
  /** Stream the text in exactly these pieces (to split tags or multi-byte text on purpose). */
  chunks?: string[];
  /** Extra wait before this reply, on top of the emulator's latency. */
  delayMs?: number;
}

/** A queued reply: a text, a full reply, or a function of the request (for round trips). */
export type ReplyScript = string | ScriptedReply | ((request: ChatBody) => string | ScriptedReply);

const messageText = (message: { content?: string | null }) => message.content ?? '';

/** First passage marked `[1]` in the prompt: its text up to the next blank line or marker, first sentence. */
function firstPassage(body: ChatBody): string | undefined {
  for (const message of body.messages ?? []) {
    if (message.role !== 'system' && message.role !== 'user') continue;
    const match = /\[1\][ \t:]*([\s\S]*?)(?:\n\s*\n|\[2\]|$)/.exec(messageText(message));
    const passage = match?.[1]?.replace(/\s+/g, ' ').trim();
    if (passage) {
      const sentence = /^.*?(?:[.!?](?=\s|$)|[。！？])/u.exec(passage)?.[0] ?? passage;
      return Array.from(sentence).slice(0, 200).join('');
    }
  }
  return undefined;
}

/**
 * The answer when nothing is scripted: a tool result is acknowledged, a prompt with a `[1]`
 * passage is answered by quoting it with its marker (what a grounded RAG answer looks like),
 * anything else echoes the last user message.
 */
export function defaultReply(body: ChatBody): ScriptedReply {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  const format = body.response_format as { type?: string; json_schema?: { schema?: JsonSchema } } | undefined;
  if (format?.type === 'json_schema' && format.json_schema?.schema) {
    const lastUser = [...messages].reverse().find((message) => message.role === 'user');
    return {
      text: JSON.stringify(instanceOf(format.json_schema.schema, lastUser ? messageText(lastUser) : '')),
    };
  }
  if (last?.role === 'tool') return { text: `Tool result: ${messageText(last)}` };
  // A follow-up to rewrite: the message as it is, a standalone query good enough for retrieval.
  const rewritten = /Customer \(last message\): (.*)$/s.exec(last?.role === 'user' ? messageText(last) : '');
  if (rewritten?.[1]) return { text: rewritten[1].trim() };
  const passage = firstPassage(body);
  if (passage) return { text: `${passage} [1]` };
  const lastUser = [...messages].reverse().find((message) => message.role === 'user');
  return { text: `Echo: ${lastUser ? messageText(lastUser) : ''}` };
}

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
}

/**
 * What guided decoding guarantees: an instance of the schema. An enum takes the first value that
 * the user's message names (so zero-shot classification tests get a sensible default), else an
 * "unknown" value when the schema offers one (a model that cannot tell says so), else its first.
 */
export function instanceOf(schema: JsonSchema, hint: string): unknown {
  if (schema.enum?.length) {
    const named = schema.enum.find(
      (value) => typeof value === 'string' && hint.toLowerCase().includes(value.toLowerCase()),
    );
    return named ?? schema.enum.find((value) => value === 'unknown') ?? schema.enum[0];
  }
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, value]) => [key, instanceOf(value, hint)]),
      );
    case 'array':
      return schema.items ? [instanceOf(schema.items, hint)] : [];
    case 'number':
    case 'integer':
      return schema.maximum ?? schema.minimum ?? 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return '';
  }
}

/** OpenAI answers 400 to a malformed `response_format`; so does the emulator. */
export function responseFormatError(format: unknown): string | undefined {
  if (format === undefined) return undefined;
  const value = format as { type?: unknown; json_schema?: { name?: unknown; schema?: unknown } };
  if (value.type === 'text' || value.type === 'json_object') return undefined;
  if (value.type !== 'json_schema')
    return `response_format.type: unsupported value ${JSON.stringify(value.type)}`;
  if (typeof value.json_schema?.name !== 'string') return 'response_format.json_schema.name: field required';
  if (!value.json_schema.schema || typeof value.json_schema.schema !== 'object') {
    return 'response_format.json_schema.schema: field required';
  }
  return undefined;
}

export function resolveReply(script: ReplyScript, body: ChatBody): ScriptedReply {
  const reply = typeof script === 'function' ? script(body) : script;
  return typeof reply === 'string' ? { text: reply } : reply;
}

let sequence = 0;
const nextId = (prefix: string) => `${prefix}-emu${++sequence}`;

function toolCallsOf(reply: ScriptedReply) {
  return (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? nextId('call'),
    type: 'function' as const,
    function: {
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
}

const finishOf = (reply: ScriptedReply) =>
  reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop');

/** Rough token count (chars / 4): enough for usage fields, without loading a tokenizer. */
function usageOf(body: ChatBody, completion: string) {
  const prompt = (body.messages ?? []).map(messageText).join(' ');
  const promptTokens = Math.ceil(prompt.length / 4);
  const completionTokens = Math.ceil(completion.length / 4);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

export function completionOf(reply: ScriptedReply, body: ChatBody, model: string) {
  const toolCalls = toolCallsOf(reply);
  const text = reply.text ?? '';
  return {
    id: nextId('chatcmpl'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: toolCalls.length && !text ? null : text,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishOf(reply),
      },
    ],
    usage: usageOf(body, text),
  };
}

/** Word-sized pieces (a few characters for scripts without spaces), as a tokenizer would stream. */
function piecesOf(text: string, size = 6): string[] {
  const pieces: string[] = [];
  for (const word of text.match(/\S+\s*|\s+/gu) ?? []) {
    const chars = Array.from(word);
    for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  }
  return pieces;
}

/** The stream chunks OpenAI sends for this reply: role, content pieces, tool call fragments, finish, usage. */
export function streamChunksOf(reply: ScriptedReply, body: ChatBody, model: string): unknown[] {
  const id = nextId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: unknown, finishReason: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const text = reply.text ?? '';
  const chunks: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of reply.chunks ?? piecesOf(text)) chunks.push(chunk({ content: piece }));
  toolCallsOf(reply).forEach((call, index) => {
    const head = {
      index,
      id: call.id,
      type: 'function',
      function: { name: call.function.name, arguments: '' },
    };
    chunks.push(chunk({ tool_calls: [head] }));
    for (const piece of piecesOf(call.function.arguments, 8)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk({}, finishOf(reply)));
  if (body.stream_options?.include_usage) {
    chunks.push({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [],
      usage: usageOf(body, text),
    });
  }
  return chunks;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Deterministic unit vector by feature hashing of words (Han text: characters and bigrams), so
 * texts sharing words lie close together and retrieval tests have something real to rank.
 */
export function embed(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const features: string[] = [];
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const han = Array.from(word).filter((char) => /\p{Script=Han}/u.test(char));
    if (han.length === 0) features.push(word);
    else
      han.forEach((char, i) => {
        features.push(char);
        if (han[i + 1]) features.push(`${char}${han[i + 1]}`);
      });
  }
  for (const feature of features) {
    const hash = fnv1a(feature);
    vector[hash % dimensions] = (vector[hash % dimensions] ?? 0) + (hash & 0x80000000 ? -1 : 1);
  }
  const norm = Math.hypot(...vector);
  if (norm === 0) return vector.map((_, i) => (i === 0 ? 1 : 0));
  return vector.map((value) => value / norm);
}

/** OpenAI's base64 encoding: little-endian float32 (the SDK asks for it by default). */
export function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
