import type { InboundEvent } from '../../types';
import type { NamedStage } from '../compose';
import type { ReplyChoice } from '../flows/choices';
import { say } from '../messages';
import { preprocess } from '../preprocess';
import { sayText, type TurnContext } from '../turn-context';
import type { StageDeps } from './deps';
import { forwardToTicket } from './flow-run';

/**
 * Clean the message, find its entities and language. A tapped button reads as its title in the
 * conversation's language, and carries its choice id on; an empty message is answered here.
 */
export const preprocessStage = (deps: StageDeps): NamedStage => ({
  name: 'preprocess',
  run: async (turn, next) => {
    const { event, state } = turn;
    const offered = deps.dialog.runtime.offered(turn.progress.flow);
    const tapped = tappedChoice(event, offered);
    turn.raw = tapped
      ? tapped.title[turn.language]
      : (event.text ?? event.action?.title ?? actionValue(event) ?? '');
    const pre = preprocess(turn.raw, {
      now: turn.now,
      timezoneOffsetMinutes: deps.config.dialog.timezoneOffsetMinutes,
      patterns: deps.dialog.config.entities.patterns,
      tenant: event.ref.tenant,
      localeHint: event.locale ?? state.locale,
    });
    turn.pre = pre;
    turn.language = pre.language;
    state.locale = pre.language;
    turn.choice = tapped?.id ?? numberedChoice(pre.text, offered)?.id;
    if (pre.text) return next();
    await answerEmpty(turn, deps);
  },
});

async function answerEmpty(turn: TurnContext, deps: StageDeps): Promise<void> {
  const { state, event, language } = turn;
  if (state.handoff !== 'bot') await forwardToTicket(turn, deps);
  if (state.handoff === 'human') return;
  turn.source = 'system';
  sayText(turn, say(event.attachments?.length ? 'attachmentOnly' : 'emptyMessage', language));
}

/** A button tap (an action event) whose id or value is one of the choices the waiting step offered. */
function tappedChoice(event: InboundEvent, offered: ReplyChoice[]): ReplyChoice | undefined {
  if (event.kind !== 'action' || !event.action) return undefined;
  const sent = [event.action.id, actionValue(event)];
  return offered.find((choice) => sent.includes(choice.id));
}

/** Where buttons degrade to a numbered list (renderAsText), the customer answers with the number. */
function numberedChoice(text: string, offered: ReplyChoice[]): ReplyChoice | undefined {
  return /^\d{1,2}$/.test(text) ? offered[Number(text) - 1] : undefined;
}

function actionValue(event: InboundEvent): string | undefined {
  const value = event.action?.value;
  return typeof value === 'string' ? value : undefined;
}
