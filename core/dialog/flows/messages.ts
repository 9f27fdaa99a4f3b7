import type { Language } from '../language';
import type { ReplyChoice } from './choices';
import type { Bilingual } from './schema';

/** A reply as the runtime emits it: a message key and its parameters; rendering picks the language. */
export interface Reply {
  key: string;
  params: Record<string, string>;
  /** Answers to offer as buttons (a confirm step's yes/no, a slot's values). */
  choices?: ReplyChoice[];
}

/** The runtime's own sentences; flow files bring theirs under `flows.<flow>.…`. */
export const FLOW_MESSAGES: Record<string, Bilingual> = {
  'flow.cancelled': { zh: '好的，已取消「{flow}」。', en: 'OK, I have cancelled "{flow}".' },
  'flow.restarted': { zh: '好的，我们重新开始「{flow}」。', en: 'OK, let us start "{flow}" again.' },
  'flow.expired': {
    zh: '「{flow}」因长时间没有回复已结束。',
    en: '"{flow}" was closed because there was no reply for a while.',
  },
  'flow.resume': { zh: '我们回到刚才的「{flow}」。', en: 'Back to "{flow}".' },
  'flow.yesOrNo': { zh: '请回答“是”或“否”。', en: 'Please answer yes or no.' },
  'flow.tooManyAttempts': {
    zh: '抱歉，我没能理解您提供的信息。',
    en: 'Sorry, I could not make sense of that.',
  },
  'flow.actionFailed': {
    zh: '抱歉，系统暂时无法完成「{flow}」，请稍后再试。',
    en: 'Sorry, I could not complete "{flow}" right now. Please try again later.',
  },
  'flow.pleaseWait': { zh: '正在处理，请稍候。', en: 'I am working on it, one moment please.' },
  'flow.notConfirmed': {
    zh: '这一步需要您先确认，已停止「{flow}」。',
    en: 'That step needs your confirmation first, so I stopped "{flow}".',
  },
};

export type Catalog = Map<string, Bilingual>;

/** `{name}` placeholders are replaced by params; an unknown placeholder stays visible (a test catches it). */
export function renderReply(reply: Reply, language: Language, catalog: Catalog): string {
  const template = catalog.get(reply.key)?.[language];
  if (template === undefined) throw new Error(`no message "${reply.key}"`);
  return template.replace(/\{([\w.]+)\}/g, (whole, name: string) => reply.params[name] ?? whole);
}
