import { z } from 'zod';
import { tracedChat } from '../../telemetry/llm';
import type { ChatRequest, LlmClient } from '../../types';
import type { IntentDefinition } from './config';

export const UNKNOWN_INTENT = 'unknown';

const answerSchema = z.object({ intent: z.string(), confidence: z.number().min(0).max(1) });

/** The JSON schema the answer must follow: vLLM enforces it by guided decoding, OpenAI by structured outputs. */
export function intentAnswerSchema(names: string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      intent: { type: 'string', enum: [...names, UNKNOWN_INTENT] },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
    },
    required: ['intent', 'confidence'],
    additionalProperties: false,
  };
}

export function intentPrompt(intents: IntentDefinition[], text: string): ChatRequest['messages'] {
  const list = intents
    .map((i) => `- ${i.name}: ${i.description || i.examples.slice(0, 2).join(' / ')}`)
    .join('\n');
  return [
    {
      role: 'system',
      content: [
        'You classify one customer-service message (Chinese or English) into exactly one intent.',
        `Intents:\n${list}`,
        `If no intent clearly fits, answer "${UNKNOWN_INTENT}". Never guess.`,
        'Answer JSON: {"intent": <name>, "confidence": <0..1>}.',
      ].join('\n\n'),
    },
    { role: 'user', content: text },
  ];
}

/**
 * Tier (c): zero-shot classification by the LLM with structured output. Returns undefined when the
 * answer is not the promised JSON or names no known intent: the caller treats that as no answer.
 * Errors of the client (timeout, circuit open) propagate; the recognizer decides what they mean.
 */
export async function classifyWithLlm(
  llm: LlmClient,
  intents: IntentDefinition[],
  text: string,
  signal?: AbortSignal,
  conversation?: string,
): Promise<{ name: string; confidence: number } | undefined> {
  const names = intents.map((i) => i.name);
  const result = await tracedChat(llm, {
    messages: intentPrompt(intents, text),
    responseFormat: { type: 'json_schema', name: 'intent', schema: intentAnswerSchema(names), strict: true },
    temperature: 0,
    maxTokens: 64,
    signal,
    route: { task: 'classify', question: text, conversation },
  });
  const json = result.text.replace(/^```(?:json)?\s*|\s*```$/g, '').trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const answer = answerSchema.safeParse(parsed);
  if (!answer.success) return undefined;
  const { intent, confidence } = answer.data;
  if (intent !== UNKNOWN_INTENT && !names.includes(intent)) return undefined;
  return { name: intent, confidence };
}
