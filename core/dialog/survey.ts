import type { CsatRules } from '../config/analytics-schema';
import type { DialogProgress, InboundEvent } from '../types';
import type { ReplyChoice } from './flows/choices';
import type { Reply } from './flows/messages';
import type { Language } from './language';
import type { CsatScale } from './turn-context';

/**
 * The in-channel satisfaction survey (CSAT). Asked as a reply with choices, so every channel shows
 * buttons where it has them and a numbered list elsewhere; read back from a tapped button, the
 * number of a listed choice, or the choice's words. At most once per conversation.
 */

/** The thumbs are stored on the 1–5 scale: 👍 is 5, 👎 is 1, so one average covers both. */
export const THUMBS_UP = 5;
export const THUMBS_DOWN = 1;
const CHOICE_PREFIX = 'csat:';

export const SURVEY_MESSAGES = {
  'survey.ask.thumbs': {
    zh: '您对本次服务满意吗？',
    en: 'Were you happy with the help you got?',
  },
  'survey.ask.1-5': {
    zh: '请为本次服务打分（1 = 很差，5 = 很好）。',
    en: 'How would you rate this conversation, from 1 (poor) to 5 (excellent)?',
  },
  'survey.thanks': {
    zh: '感谢您的评价！',
    en: 'Thank you for your feedback!',
  },
} as const;

export function surveyChoices(scale: CsatScale): ReplyChoice[] {
  if (scale === 'thumbs') {
    return [
      { id: `${CHOICE_PREFIX}${THUMBS_UP}`, title: { zh: '👍 满意', en: '👍 Yes' } },
      { id: `${CHOICE_PREFIX}${THUMBS_DOWN}`, title: { zh: '👎 不满意', en: '👎 No' } },
    ];
  }
  return [1, 2, 3, 4, 5].map((n) => ({
    id: `${CHOICE_PREFIX}${n}`,
    title: { zh: String(n), en: String(n) },
  }));
}

export function surveyQuestion(scale: CsatScale): Reply {
  return { key: `survey.ask.${scale}`, params: {}, choices: surveyChoices(scale) };
}

/**
 * The rating a customer's message gives, or undefined when it is no answer to the survey (then the
 * message is read as any other and the survey is dropped, not asked again).
 */
export function readRating(event: InboundEvent, scale: CsatScale, language: Language): number | undefined {
  const choices = surveyChoices(scale);
  const scoreOf = (choice: ReplyChoice | undefined) =>
    choice ? Number(choice.id.slice(CHOICE_PREFIX.length)) : undefined;
  if (event.kind === 'action') {
    const value = event.action?.value;
    const sent = [event.action?.id, typeof value === 'string' ? value : undefined];
    return scoreOf(choices.find((choice) => sent.includes(choice.id)));
  }
  if (event.kind !== 'message') return undefined;
  const text = (event.text ?? '').normalize('NFKC').trim().toLowerCase();
  if (/^\d$/.test(text)) return scoreOf(choices[Number(text) - 1]);
  const byTitle = choices.find((choice) =>
    [choice.title[language], choice.title.en, choice.title.zh].some((title) => {
      const folded = title.toLowerCase();
      return text === folded || text === folded.replace(/^\S+\s+/, '') || text === folded.split(/\s+/)[0];
    }),
  );
  return scoreOf(byTitle);
}

export type SurveyState = NonNullable<DialogProgress['survey']>;

/** The survey state of the conversation now: a customer who was away longer than the gap starts a new one. */
export function surveyStateAt(progress: DialogProgress, now: Date, gapMinutes: number): SurveyState {
  const survey = progress.survey;
  const last = survey?.lastAt ? Date.parse(survey.lastAt) : Number.NaN;
  if (!survey || !Number.isFinite(last) || now.getTime() - last > gapMinutes * 60_000) {
    progress.survey = {};
  }
  return progress.survey as SurveyState;
}

/** Whether this turn is the moment the tenant's rules ask at. */
export function asksNow(rules: CsatRules, moment: { resolved: boolean; handoffSolved: boolean }): boolean {
  if (!rules.enabled) return false;
  if (moment.resolved && rules.ask !== 'after_handoff_solved') return true;
  return moment.handoffSolved && rules.ask !== 'after_resolution';
}
