import type { ChatRequest, ChatResult, LlmClient } from '../types/llm';
import { inSpan, SpanKind } from './trace';

/**
 * `llm.chat(request)` as an `llm.chat` span with the GenAI semantic-convention attributes the
 * result tells (served model, finish reason, token usage). Never the prompt or the answer.
 */
export function tracedChat(llm: LlmClient, request: ChatRequest): Promise<ChatResult> {
  const attributes = {
    'gen_ai.operation.name': 'chat',
    'hub.llm.task': request.route?.task ?? 'answer',
    ...(request.maxTokens !== undefined ? { 'gen_ai.request.max_tokens': request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { 'gen_ai.request.temperature': request.temperature } : {}),
  };
  return inSpan('llm.chat', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const result = await llm.chat(request);
    span.setAttributes({
      'gen_ai.response.model': result.model,
      'gen_ai.response.finish_reasons': [result.finishReason],
      ...(result.usage
        ? {
            'gen_ai.usage.input_tokens': result.usage.promptTokens,
            'gen_ai.usage.output_tokens': result.usage.completionTokens,
          }
        : {}),
    });
    return result;
  });
}
