import { tracedChat } from '../../telemetry/llm';
import type { LlmClient, Turn } from '../../types';
import type { Language } from '../language';

/**
 * Topics of the shop's knowledge base, each with the words that name it in both languages. A
 * follow-up that names a topic of its own ("那退货呢？") stands alone; one that does not borrows the
 * previous question.
 */
const TOPICS: string[][] = [
  ['发货', '配送', '快递', '物流', 'shipping', 'delivery', 'ship'],
  ['退货', 'return', 'returns'],
  ['换货', 'exchange'],
  ['退款', 'refund', 'refunds'],
  ['发票', 'invoice', 'invoices'],
  ['支付', '付款', 'payment', 'pay'],
  ['运费', 'shipping fee', 'delivery fee'],
  ['保修', 'warranty'],
  ['账户', '账号', '密码', 'account', 'password'],
];

const ORDINALS: Record<string, number> = {
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  last: -1,
  第一: 1,
  第二: 2,
  第三: 3,
  第四: 4,
  第五: 5,
  最后: -1,
  '1st': 1,
  '2nd': 2,
  '3rd': 3,
  '4th': 4,
  '5th': 5,
};

const ZH_FOLLOW_UP = /^(?:那|那么|还有|另外)?\s*(.+?)\s*(?:呢|怎么样|如何)\s*[?？]?$/u;
const EN_FOLLOW_UP = /^(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??$/iu;
const ZH_ORDINAL = /(第[一二三四五]|最后)(?:一)?个/u;
const EN_ORDINAL = /\bthe\s+(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)(?:\s+one)?\b/iu;

/** Items of the last numbered or bulleted list the bot sent ("1. …", "- …", "① …"). */
function listItems(text: string): string[] {
  return text
    .split(/\n|(?=\s\d[.、)]\s)/u)
    .map((line) => /^\s*(?:\d+[.、)]|[-*•]|[①②③④⑤])\s*(.+)$/u.exec(line)?.[1]?.trim())
    .filter((item): item is string => Boolean(item));
}

function topicOf(text: string): { words: string[]; word: string } | undefined {
  const lower = text.toLowerCase();
  for (const words of TOPICS) {
    const word = [...words].sort((a, b) => b.length - a.length).find((w) => lower.includes(w));
    if (word) return { words, word };
  }
  return undefined;
}

function lastOf(history: Turn[], role: Turn['role']): Turn | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i]?.role === role) return history[i];
  return undefined;
}

function replaceOrdinal(message: string, history: Turn[]): string | undefined {
  const match = ZH_ORDINAL.exec(message) ?? EN_ORDINAL.exec(message);
  if (!match) return undefined;
  const bot = lastOf(history, 'assistant');
  const items = bot ? listItems(bot.text) : [];
  const ordinal = ORDINALS[(match[1] ?? '').toLowerCase()];
  if (!items.length || ordinal === undefined) return undefined;
  const item = ordinal === -1 ? items.at(-1) : items[ordinal - 1];
  return item === undefined ? undefined : message.replace(match[0], item);
}

/**
 * The standalone question behind a follow-up, by rule (no LLM):
 * - an ordinal ("the second one", "第二个") becomes the item of the bot's last list, and that is all;
 * - "那X呢？" / "what about X?" where X is a topic of the knowledge base other than the previous
 *   question's stands alone as it is ("那退货呢？" after "发货要多久？" is searched as "那退货呢？");
 *   otherwise it is X and the previous question ("那裤子呢？" → "裤子 这件衣服有几种颜色？");
 * - anything else is returned unchanged.
 */
export function rewriteByRules(message: string, history: Turn[]): string {
  const text = message.trim();
  const resolved = replaceOrdinal(text, history);
  // "what about express delivery?" names its subject: it stands alone now.
  if (resolved) return resolved;
  const follow = ZH_FOLLOW_UP.exec(text) ?? EN_FOLLOW_UP.exec(text);
  // The question followed up: the latest recent one with a known topic ("有帮助" in between does not count).
  const recent = history
    .filter((t) => t.role === 'user')
    .slice(-4)
    .reverse();
  const previous = (recent.find((t) => topicOf(t.text)) ?? recent[0])?.text;
  if (!follow?.[1] || !previous) return text;
  const subject = follow[1].trim();
  // A full question ending in 呢 ("我的订单怎么还没到呢") is not a follow-up.
  if (Array.from(subject).length > 12 || subject.split(/\s+/u).length > 6) return text;
  const before = topicOf(previous);
  const own = topicOf(subject);
  // "what about returns?" after a shipping question names a topic of its own: searched as it is,
  // not as the previous question with the word swapped ("How long does returns take?" finds refunds).
  if (own && own.words !== before?.words) return text;
  return `${subject} ${previous}`;
}

/** Does the message look like it leans on earlier turns? Only those are sent to the LLM to rewrite. */
export function looksLikeFollowUp(message: string): boolean {
  const text = message.trim();
  return (
    ZH_FOLLOW_UP.test(text) ||
    EN_FOLLOW_UP.test(text) ||
    ZH_ORDINAL.test(text) ||
    EN_ORDINAL.test(text) ||
    /\b(it|that|this one|those|them)\b/iu.test(text) ||
    /^(那|它|这个|那个)/u.test(text)
  );
}

/**
 * Standalone query for retrieval: by the LLM when one is given and available (a short, temperature-0
 * request over the last turns), by the rules otherwise or when the LLM fails. Messages that do not
 * look like follow-ups are returned as they are, without a model call.
 */
export async function rewriteFollowUp(
  message: string,
  history: Turn[],
  language: Language,
  llm?: LlmClient,
  signal?: AbortSignal,
  conversation?: string,
): Promise<{ query: string; by: 'none' | 'rules' | 'llm' }> {
  if (!history.length || !looksLikeFollowUp(message)) return { query: message, by: 'none' };
  if (llm?.available()) {
    try {
      const recent = history
        .slice(-6)
        .map((t) => `${t.role === 'user' ? 'Customer' : 'Assistant'}: ${t.text}`);
      const result = await tracedChat(llm, {
        messages: [
          {
            role: 'system',
            content:
              "Rewrite the customer's last message as one standalone search query that needs no earlier context. " +
              `Keep the customer's language (${language === 'zh' ? 'Chinese' : 'English'}). Output only the query.`,
          },
          { role: 'user', content: `${recent.join('\n')}\nCustomer (last message): ${message}` },
        ],
        temperature: 0,
        maxTokens: 64,
        signal,
        route: { task: 'rewrite', question: message, conversation },
      });
      const query = result.text.trim().split('\n')[0]?.trim();
      if (query) return { query, by: 'llm' };
    } catch {
      // fall through to the rules
    }
  }
  const query = rewriteByRules(message, history);
  return { query, by: query === message.trim() ? 'none' : 'rules' };
}
