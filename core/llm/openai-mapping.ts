import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import type { ChatMessage, ChatResult, ResponseFormat, ToolCall, ToolDefinition } from '../types';
import { stripThink, ThinkStripper } from './think';

export function toOpenAiMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((message): ChatCompletionMessageParam => {
    switch (message.role) {
      case 'tool':
        return { role: 'tool', content: message.content, tool_call_id: message.toolCallId ?? '' };
      case 'assistant':
        if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
        return {
          role: 'assistant',
          // OpenAI wants null, not "", beside tool calls; some servers reject the empty string.
          content: message.content || null,
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        };
      default:
        return { role: message.role, content: message.content };
    }
  });
}

export function toOpenAiTools(tools: ToolDefinition[]): ChatCompletionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}

export function toOpenAiResponseFormat(format: ResponseFormat) {
  return {
    type: 'json_schema' as const,
    json_schema: { name: format.name, schema: format.schema, strict: format.strict ?? true },
  };
}

export function fromCompletion(completion: ChatCompletion, fallbackModel: string): ChatResult {
  const choice = completion.choices[0];
  const toolCalls: ToolCall[] = [];
  for (const call of choice?.message.tool_calls ?? []) {
    if (call.type === 'function') {
      toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
    }
  }
  return {
    text: stripThink(choice?.message.content ?? ''),
    toolCalls,
    model: completion.model || fallbackModel,
    finishReason: choice?.finish_reason ?? 'unknown',
    usage: completion.usage && {
      promptTokens: completion.usage.prompt_tokens,
      completionTokens: completion.usage.completion_tokens,
    },
  };
}

/**
 * Builds a ChatResult from stream chunks. Tool calls arrive in fragments keyed by `index`: the
 * first fragment carries id and name, later ones append to the JSON arguments.
 */
export class StreamAssembler {
  private text = '';
  private readonly calls = new Map<number, ToolCall>();
  private readonly stripper = new ThinkStripper();
  private model = '';
  private finishReason = 'unknown';
  private usage: ChatResult['usage'];

  /** Take one chunk; returns the visible text delta it carried (possibly empty). */
  add(chunk: ChatCompletionChunk): string {
    if (chunk.model) this.model = chunk.model;
    if (chunk.usage) {
      this.usage = {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
      };
    }
    const choice = chunk.choices[0];
    if (!choice) return '';
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    for (const fragment of choice.delta.tool_calls ?? []) {
      const call = this.calls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
      if (fragment.id) call.id = fragment.id;
      // Only the first fragment should carry the name; some servers repeat it, none split it.
      if (fragment.function?.name && !call.name) call.name = fragment.function.name;
      if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
      this.calls.set(fragment.index, call);
    }
    return this.visible(this.stripper.push(choice.delta.content ?? ''));
  }

  /** End of stream: returns any text held back, and the result. */
  finish(fallbackModel: string): { delta: string; result: ChatResult } {
    const delta = this.visible(this.stripper.flush());
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }));
    return {
      delta,
      result: {
        text: this.text,
        toolCalls,
        model: this.model || fallbackModel,
        finishReason: this.finishReason,
        usage: this.usage,
      },
    };
  }

  private visible(delta: string): string {
    this.text += delta;
    return delta;
  }
}
