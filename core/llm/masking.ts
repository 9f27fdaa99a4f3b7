import { type PiiMasker, type PiiVault, StreamRestorer } from '../privacy/mask';
import type { ChatMessage, ChatRequest, ChatResult, LlmClient, ToolCall } from '../types/llm';

/** How long a conversation's placeholders stay the same across its model calls (one turn's classify, rewrite, answer). */
const TURN_MS = 60_000;
const MAX_CONVERSATIONS = 2_000;

/**
 * The model's side of data protection: every message of a request is masked (`<PHONE_1>`,
 * `<CARD_1>`...) before it leaves, and the placeholders the model echoes are put back in its text,
 * its streamed deltas and its tool calls' arguments, except cards and CVVs, which stay masked.
 * The hub's client (createLlmClient) is wrapped once, so every call of the dialog passes here.
 * One conversation keeps its placeholders for a minute, so the calls of one turn number alike.
 */
export function maskedLlm<T extends LlmClient>(llm: T, masker: PiiMasker): T {
  const vaults = new Map<string, { vault: PiiVault; at: number }>();

  function vaultFor(request: ChatRequest): PiiVault {
    const tenant = request.route?.tenant;
    const conversation = request.route?.conversation;
    if (!conversation) return masker.vault(tenant);
    const key = `${tenant ?? ''}\u0000${conversation}`;
    const now = Date.now();
    const kept = vaults.get(key);
    if (kept && now - kept.at < TURN_MS) {
      kept.at = now;
      return kept.vault;
    }
    const vault = masker.vault(tenant);
    vaults.delete(key);
    vaults.set(key, { vault, at: now });
    if (vaults.size > MAX_CONVERSATIONS) vaults.delete(vaults.keys().next().value as string);
    return vault;
  }

  const wrapped = Object.create(llm) as T;
  wrapped.chat = async (request: ChatRequest): Promise<ChatResult> => {
    const vault = vaultFor(request);
    const messages = request.messages.map((message) => maskMessage(message, vault));
    const onDelta = request.onDelta;
    const stream = onDelta ? new StreamRestorer(vault) : undefined;
    const result = await llm.chat({
      ...request,
      messages,
      ...(onDelta && stream
        ? {
            onDelta: (delta: string) => {
              const shown = stream.push(delta);
              if (shown) onDelta(shown);
            },
          }
        : {}),
    });
    if (onDelta && stream) {
      const rest = stream.flush();
      if (rest) onDelta(rest);
    }
    return {
      ...result,
      text: vault.restore(result.text),
      toolCalls: result.toolCalls.map((call) => ({ ...call, arguments: vault.restore(call.arguments) })),
    };
  };
  return wrapped;
}

function maskMessage(message: ChatMessage, vault: PiiVault): ChatMessage {
  const masked: ChatMessage = { ...message, content: vault.mask(message.content) };
  if (message.toolCalls)
    masked.toolCalls = message.toolCalls.map(
      (call): ToolCall => ({ ...call, arguments: vault.mask(call.arguments) }),
    );
  return masked;
}
