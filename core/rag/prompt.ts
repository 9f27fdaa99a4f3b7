import { countMessageTokens, countTokens } from '../llm/tokenizer';
import { type ChatMessage, citationOf, type Passage, type Turn } from '../types';
import { HubError } from '../types/errors';
import type { Citation } from '../types/outbound';
import { baseLanguage } from './language';

export interface RagPromptInput {
  question: string;
  /** Best first, as the retriever returns them. */
  passages: Passage[];
  /** Earlier turns, oldest first, without the current question. */
  history?: Turn[];
  /** The customer's language ("zh", "en", "zh-CN"...): instructions and labels follow it. */
  language: string;
  /** Qwen3 tokens for everything sent: system, history, passages and question. */
  budgetTokens: number;
  /** Persona or shop-specific rules, placed before the retrieval rules (which always apply). */
  systemPrompt?: string;
}

export interface RagPrompt {
  messages: ChatMessage[];
  /** One per used passage, in the order of their [n] numbers. */
  citations: Citation[];
  usedPassages: Passage[];
  /** Qwen3 tokens of `messages` plus the assistant header the model answers after. */
  tokens: number;
}

/** `<|im_start|>assistant\n`: the template opens the reply turn, and those tokens count too. */
const REPLY_HEADER_TOKENS = 3;

const TEXTS = {
  zh: {
    rules:
      '你是网店的客服助手。请只根据下面编号的参考资料回答顾客的问题，并在用到的内容后用方括号标注编号，例如 [1]、[2]。如果参考资料里没有答案，请直接说明暂时不知道，并建议顾客转人工客服，不要猜测或编造。请用简体中文简洁、礼貌地回复。',
    passages: '参考资料：',
    source: (source: string) => `（来源：${source}）`,
    question: '顾客的问题：',
    none: '（没有找到相关资料）',
  },
  en: {
    rules:
      "You are the shop's customer-service assistant. Answer the customer's question only from the numbered passages below, and cite the passages you use by their numbers in square brackets, such as [1] or [2]. If the passages do not contain the answer, say that you don't know and offer to connect the customer with a human agent; never guess or invent details. Reply in the customer's language, briefly and politely.",
    passages: 'Passages:',
    source: (source: string) => ` (source: ${source})`,
    question: "Customer's question: ",
    none: '(no relevant passages found)',
  },
};

/**
 * A Qwen3 chat prompt for answering from retrieved passages within `budgetTokens`. When it does not
 * fit, the oldest history turns go first (the question matters more than the chat before it), then
 * the lowest-ranked passages; a message or passage is never cut in the middle, since half a policy
 * reads as a different policy. Throws `rag.prompt_budget` if even rules plus question do not fit.
 */
export function buildRagMessages(input: RagPromptInput): RagPrompt {
  const texts = TEXTS[baseLanguage(input.language) === 'zh' ? 'zh' : 'en'];
  const system = [input.systemPrompt?.trim(), texts.rules].filter(Boolean).join('\n\n');
  const systemTokens = countMessageTokens('system', system);
  let history = withoutRepeatedQuestion(input.history ?? [], input.question);
  let passages = input.passages;
  const historyTokens = history.map((turn) => countMessageTokens(turn.role, turn.text));
  let historyTotal = historyTokens.reduce((sum, n) => sum + n, 0);
  let user = userMessage(input.question, passages, texts);
  let userTokens = userMessageTokens(input.question, passages, texts);
  const total = () => systemTokens + historyTotal + userTokens + REPLY_HEADER_TOKENS;

  while (total() > input.budgetTokens) {
    if (history.length > 0) {
      // Drop a whole exchange where possible: an answer without its question misleads the model.
      const drop =
        history.length > 1 && history[0]?.role === 'user' && history[1]?.role === 'assistant' ? 2 : 1;
      historyTotal -= historyTokens.splice(0, drop).reduce((sum, n) => sum + n, 0);
      history = history.slice(drop);
    } else if (passages.length > 0) {
      passages = passages.slice(0, -1);
      user = userMessage(input.question, passages, texts);
      userTokens = userMessageTokens(input.question, passages, texts);
    } else {
      throw new HubError(
        'rag.prompt_budget',
        `The question and instructions alone take ${total()} tokens, over the prompt budget of ${input.budgetTokens}. Fix: raise knowledge.promptBudgetTokens or shorten the system prompt.`,
      );
    }
  }

  // The loop decided on conservative part-wise counts; the prompt reports its exact size.
  userTokens = countMessageTokens('user', user);
  const messages: ChatMessage[] = [
    { role: 'system', content: system },
    ...history.map((turn): ChatMessage => ({ role: turn.role, content: turn.text })),
    { role: 'user', content: user },
  ];
  return { messages, citations: passages.map(citationOf), usedPassages: passages, tokens: total() };
}

/** The user message's parts, joined by blank lines: a heading, passages numbered [1]..[n] with title and source, then the question. */
function userParts(question: string, passages: Passage[], texts: (typeof TEXTS)['en']): string[] {
  const blocks = passages.map((p, i) => `[${i + 1}] ${p.title}${texts.source(p.source)}\n${p.text}`);
  return [
    texts.passages,
    ...(blocks.length > 0 ? blocks : [texts.none]),
    `${texts.question}${question.trim()}`,
  ];
}

function userMessage(question: string, passages: Passage[], texts: (typeof TEXTS)['en']): string {
  return userParts(question, passages, texts).join(PART_SEPARATOR);
}

/**
 * The user message counted part by part: passages recur from turn to turn, so their counts come from
 * the tokenizer's cache and only the question is encoded anew. Qwen3's pre-tokenizer splits at line
 * breaks, so no token spans two parts and the sum equals the count of the joined text; one token per
 * separator is added as a margin all the same.
 */
function userMessageTokens(question: string, passages: Passage[], texts: (typeof TEXTS)['en']): number {
  const parts = userParts(question, passages, texts);
  const separators = (parts.length - 1) * (countTokens(PART_SEPARATOR) + 1);
  return parts.reduce((sum, part) => sum + countTokens(part), separators) + countMessageTokens('user', '');
}

const PART_SEPARATOR = '\n\n';

/** Callers may already have appended the current question to the history; do not send it twice. */
function withoutRepeatedQuestion(history: Turn[], question: string): Turn[] {
  const last = history.at(-1);
  return last?.role === 'user' && last.text.trim() === question.trim() ? history.slice(0, -1) : history;
}
