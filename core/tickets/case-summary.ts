import { stripThink } from '../llm/think';
import { logger } from '../log';
import { errors } from '../metrics';
import type { LlmClient, OutboundMessage, TicketTranscriptLine } from '../types';
import { HubError } from '../types';

/**
 * The bot's case summary of a conversation it hands to a person: what the customer wants, the
 * facts it gathered (intent, slots, entities) and what it tried before giving up ("answered from
 * the knowledge base entry X; the customer said it did not help"). It opens the ticket's summary,
 * so the helpdesk and the agent workspace show it first. Written by the model when one is
 * configured (through the hub's masked client: the prompt leaves with placeholders), by rules
 * otherwise, and by rules whenever the model is slow, fails or answers with nothing usable.
 */

/** A transcript line with what the hub knows of a bot reply: how it was made and from which entries. */
export interface CaseLine extends TicketTranscriptLine {
  source?: OutboundMessage['source'];
  /** Titles of the knowledge entries the reply cited. */
  cited?: string[];
}

export type CaseLanguage = 'en' | 'zh';

export interface CaseFacts {
  /** The customer's question that led to the handoff (core/tickets/draft.ts `customerQuestion`). */
  question?: string;
  /** Why the bot handed over, in words. */
  why: string;
  intent?: string;
  /** The dialog's slots; the ticket reference and the dialog's own bookkeeping are left out. */
  slots: Record<string, unknown>;
  entities: Record<string, string[]>;
  transcript: CaseLine[];
  /** Flows the bot was in the middle of when it handed over (the handoff flow itself left out). */
  flows?: Array<{ flow: string; step: string }>;
  language: CaseLanguage;
}

export interface CaseSummary {
  text: string;
  by: 'llm' | 'rules';
}

/** A customer reaction that says the bot's last answer did not help. */
const DID_NOT_HELP =
  /\b(not|didn'?t|doesn'?t|did not|does not|no)\s+help|\bnot helpful\b|\bunhelpful\b|\buseless\b|\bnot what i\b|\bwrong answer\b|\bthat'?s wrong\b|没用|没有用|没有帮助|没帮助|没解决|没有解决|不对|不是我要|答非所问|不行/i;

const ANSWER_SOURCES = new Set<CaseLine['source']>(['llm', 'extractive']);

/** What the bot did before the handoff, one entry per answer, with the customer's reaction. */
export function attemptsOf(
  transcript: CaseLine[],
): Array<{ cited: string[]; generated: boolean; unhelpful: boolean }> {
  const attempts: Array<{ cited: string[]; generated: boolean; unhelpful: boolean }> = [];
  transcript.forEach((line, index) => {
    if (line.role !== 'bot' || !ANSWER_SOURCES.has(line.source)) return;
    const reaction = transcript.slice(index + 1).find((next) => next.role === 'customer');
    attempts.push({
      cited: [...new Set(line.cited ?? [])],
      generated: line.source === 'llm',
      unhelpful: reaction !== undefined && DID_NOT_HELP.test(reaction.text),
    });
  });
  return attempts;
}

const WORDS = {
  en: {
    question: 'Question',
    intent: 'Intent',
    details: 'Details',
    mentioned: 'Mentioned',
    tried: 'Tried',
    nothing: 'the bot gave no answer before the handoff',
    fromKb: (titles: string) => `answered from the knowledge base entry ${titles}`,
    inFlow: (flow: string, step: string) => `the ${flow} flow, left at step ${step}`,
    lastSaid: (text: string) => `its last message was "${text}"`,
    generated: 'answered with a generated reply',
    unhelpful: 'the customer said it did not help',
    join: '; ',
    list: ', ',
  },
  zh: {
    question: '问题',
    intent: '意图',
    details: '信息',
    mentioned: '提及',
    tried: '已尝试',
    nothing: '转人工前机器人未作答',
    fromKb: (titles: string) => `根据知识库条目 ${titles} 作答`,
    inFlow: (flow: string, step: string) => `流程 ${flow}，停在步骤 ${step}`,
    lastSaid: (text: string) => `最后一条回复是"${text}"`,
    generated: '以生成的回复作答',
    unhelpful: '客户表示没有帮助',
    join: '；',
    list: '、',
  },
} as const;

const ENTITY_NAMES: Record<string, { en: string; zh: string }> = {
  order_id: { en: 'order', zh: '订单' },
  email: { en: 'e-mail', zh: '邮箱' },
  phone: { en: 'phone', zh: '电话' },
};

/** The summary by rules: one line each for the question, intent, details, mentions and what was tried. */
export function summarizeByRules(facts: CaseFacts): string {
  const w = WORDS[facts.language];
  const colon = facts.language === 'zh' ? '：' : ': ';
  const lines = [facts.why];
  if (facts.question) lines.push(`${w.question}${colon}"${cut(facts.question, 300)}"`);
  if (facts.intent) lines.push(`${w.intent}${colon}${facts.intent}`);
  const slots = Object.entries(facts.slots)
    .filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value) && String(value).trim())
    .map(([name, value]) => `${name}=${cut(String(value), 60)}`);
  if (slots.length) lines.push(`${w.details}${colon}${slots.join(w.list)}`);
  const entities = Object.entries(facts.entities)
    .filter(([, values]) => values.length > 0)
    .map(([kind, values]) => `${ENTITY_NAMES[kind]?.[facts.language] ?? kind} ${values.join(w.list)}`);
  if (entities.length) lines.push(`${w.mentioned}${colon}${entities.join(w.list)}`);
  const attempts = attemptsOf(facts.transcript).map((attempt) => {
    const what = attempt.cited.length
      ? w.fromKb(attempt.cited.map((title) => `"${cut(title, 60)}"`).join(w.list))
      : w.generated;
    return attempt.unhelpful ? `${what}${facts.language === 'zh' ? '，' : ', '}${w.unhelpful}` : what;
  });
  // The bot's last words, when not an answer listed above: the question it waited on, or its "I don't know".
  const last = facts.transcript.findLast((line) => line.role === 'bot');
  const lastSaid =
    last && !ANSWER_SOURCES.has(last.source) && last.text.trim() ? [w.lastSaid(cut(last.text, 160))] : [];
  const tried = [
    ...attempts,
    ...(facts.flows ?? []).map(({ flow, step }) => w.inFlow(flow, step)),
    ...lastSaid,
  ];
  lines.push(`${w.tried}${colon}${tried.length ? tried.join(w.join) : w.nothing}`);
  return lines.join('\n');
}

export interface CaseSummarizerOptions {
  /** The hub's (masked, budgeted) client; absent: rules only. */
  llm?: LlmClient;
  /** The model gets this long before the rules answer instead (default 5 s: the customer waits for the handoff's reply). */
  timeoutMs?: number;
  /** Longest summary the model may give, in characters; a longer one is cut. */
  maxChars?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** Transcript lines the model is shown: the most recent ones, each cut, keep the prompt small. */
const PROMPT_LINES = 30;

export class CaseSummarizer {
  constructor(private readonly options: CaseSummarizerOptions = {}) {}

  /** By the model when there is one and it answers in time, else by rules; never throws. */
  async summarize(
    facts: CaseFacts,
    route: { tenant?: string; conversation?: string } = {},
  ): Promise<CaseSummary> {
    const { llm } = this.options;
    if (!llm?.available()) return { text: summarizeByRules(facts), by: 'rules' };
    try {
      const text = await this.byModel(llm, facts, route);
      if (text) return { text, by: 'llm' };
    } catch (error) {
      const code = error instanceof HubError ? error.code : 'llm.failed';
      errors.inc({ stage: 'case_summary', code });
      logger.warn({ code }, 'case summary by the model failed; the rules wrote it');
    }
    return { text: summarizeByRules(facts), by: 'rules' };
  }

  private async byModel(
    llm: LlmClient,
    facts: CaseFacts,
    route: { tenant?: string; conversation?: string },
  ): Promise<string | undefined> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Raced as well as aborted: a client that ignores the signal still cannot hold the handoff.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new HubError('llm.timeout', `case summary took longer than ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([
        llm.chat({
          messages: [
            { role: 'system', content: instruction(facts.language) },
            { role: 'user', content: promptOf(facts) },
          ],
          maxTokens: 220,
          temperature: 0.2,
          signal: controller.signal,
          route: { ...route, intent: facts.intent },
        }),
        deadline,
      ]);
      const text = stripThink(result.text).trim();
      if (!text) return undefined;
      const max = this.options.maxChars ?? 800;
      return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
    } finally {
      clearTimeout(timer);
    }
  }
}

function instruction(language: CaseLanguage): string {
  const tongue = language === 'zh' ? 'Simplified Chinese' : 'English';
  return [
    'You write the case summary a customer-service agent reads before taking over a conversation from the bot.',
    `Write in ${tongue}, at most 5 short lines, plain text, no greeting, no markdown headings.`,
    'Say what the customer wants, the facts given (order numbers, product, dates), and what the bot already tried and how the customer reacted.',
    'Keep placeholders such as <EMAIL_1> exactly as written. Do not invent facts.',
  ].join(' ');
}

function promptOf(facts: CaseFacts): string {
  const parts = [`Reason for handoff: ${facts.why}`];
  if (facts.question) parts.push(`Customer's question: ${cut(facts.question, 300)}`);
  if (facts.intent) parts.push(`Intent: ${facts.intent}`);
  const slots = Object.entries(facts.slots).filter(([, v]) =>
    ['string', 'number', 'boolean'].includes(typeof v),
  );
  if (slots.length) parts.push(`Slots: ${slots.map(([k, v]) => `${k}=${cut(String(v), 60)}`).join(', ')}`);
  const entities = Object.entries(facts.entities).filter(([, v]) => v.length);
  if (entities.length)
    parts.push(`Entities: ${entities.map(([k, v]) => `${k}: ${v.join(', ')}`).join('; ')}`);
  if (facts.flows?.length)
    parts.push(`Unfinished flows: ${facts.flows.map((f) => `${f.flow} (at step ${f.step})`).join(', ')}`);
  const lines = facts.transcript.slice(-PROMPT_LINES).map((line) => {
    const cited = line.cited?.length ? ` [from knowledge base: ${line.cited.join(', ')}]` : '';
    return `${line.role}: ${cut(line.text, 300)}${cited}`;
  });
  parts.push('Conversation:', ...lines);
  return parts.join('\n');
}

function cut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
