/**
 * Multi-turn conversations for `npm run bench:realistic`: the scripted dialog conversations of
 * test/dialog/conversations/ that a customer can play alone (no helpdesk, no buttons, no handoff,
 * no clock or config of their own), and conversations generated from the labelled knowledge-base
 * questions (knowledge/eval/labelled.jsonl), in Chinese and English.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { seededRandom } from '../core/random';

export interface BenchConversation {
  /** The script's file name, or `generated-<n>`. */
  name: string;
  language: 'zh' | 'en' | 'mixed';
  turns: string[];
}

interface ScriptTurn {
  user?: string;
  [other: string]: unknown;
}

/** A script the bench can replay: every turn a customer's text, and no turn that hands off or needs a person. */
function playable(script: { turns?: ScriptTurn[]; config?: unknown; start?: unknown; fixtures?: unknown }) {
  if (!Array.isArray(script.turns) || script.config || script.start) return false;
  const fixtures = script.fixtures as { failing?: unknown[] } | undefined;
  if (fixtures?.failing?.length) return false;
  return script.turns.every((turn) => {
    if (typeof turn.user !== 'string' || Object.keys(turn).some((key) => key !== 'user' && key !== 'expect'))
      return false;
    const expect = (turn.expect ?? {}) as { handoff?: string; decision?: string };
    return !expect.handoff && !['handoff', 'wait', 'silent'].includes(expect.decision ?? '');
  });
}

function languageOf(turns: string[]): BenchConversation['language'] {
  const han = turns.map((t) => /\p{Script=Han}/u.test(t));
  if (han.every(Boolean)) return 'zh';
  return han.some(Boolean) ? 'mixed' : 'en';
}

export function scriptedConversations(dir: string): BenchConversation[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap((file) => {
      const script = parse(readFileSync(join(dir, file), 'utf8'));
      if (!playable(script)) return [];
      const turns = (script.turns as ScriptTurn[]).map((t) => t.user as string);
      return [{ name: file.replace(/\.yaml$/, ''), language: languageOf(turns), turns }];
    });
}

/** Answerable questions of the knowledge base's evaluation set, by language. */
export function evalQuestions(file: string): Record<'zh' | 'en', string[]> {
  const questions: Record<'zh' | 'en', string[]> = { zh: [], en: [] };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { query: string; language: string; relevant?: string[] };
    if ((row.language === 'zh' || row.language === 'en') && row.relevant?.length)
      questions[row.language].push(row.query);
  }
  return questions;
}

const THANKS = { zh: ['有帮助', '好的，谢谢'], en: ['yes, thanks', 'that helped'] };

/**
 * `count` conversations of 2 to 5 questions each, one language each (half Chinese), sometimes
 * with a "that helped" after an answer, as customers write under the bot's "did that help?".
 */
export function generatedConversations(
  questions: Record<'zh' | 'en', string[]>,
  count: number,
  seed = 1,
): BenchConversation[] {
  const random = seededRandom(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
  return Array.from({ length: count }, (_, n) => {
    const language: 'zh' | 'en' = n % 2 === 0 ? 'en' : 'zh';
    const turns: string[] = [];
    const asks = 2 + Math.floor(random() * 4);
    for (let i = 0; i < asks; i++) {
      turns.push(pick(questions[language]));
      if (i < asks - 1 && random() < 0.25) turns.push(pick(THANKS[language]));
    }
    return { name: `generated-${n + 1}`, language, turns };
  });
}

/**
 * The bench's pool: every playable script, then generated conversations, interleaved so that each
 * stretch of the pool mixes both kinds and both languages.
 */
export function conversationPool(root: string, generated = 200, seed = 1): BenchConversation[] {
  const scripted = scriptedConversations(join(root, 'test', 'dialog', 'conversations'));
  const made = generatedConversations(
    evalQuestions(join(root, 'knowledge', 'eval', 'labelled.jsonl')),
    generated,
    seed,
  );
  const pool: BenchConversation[] = [];
  const every = Math.max(1, Math.round(made.length / Math.max(1, scripted.length)));
  let s = 0;
  made.forEach((conversation, i) => {
    if (i % every === 0 && s < scripted.length) pool.push(scripted[s++] as BenchConversation);
    pool.push(conversation);
  });
  pool.push(...scripted.slice(s));
  return pool;
}
