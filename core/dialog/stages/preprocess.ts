import type { InboundEvent } from '../../types';
import type { NamedStage } from '../compose';
import { type ReplyChoice, YES_NO_CHOICES } from '../flows/choices';
import { say } from '../messages';
import { preprocess } from '../preprocess';
import { sayText, type TurnContext } from '../turn-context';
import type { StageDeps } from './deps';
import { forwardToTicket } from './flow-run';

/**
 * Clean the message, find its entities and language. A tapped button reads as its title in the
 * conversation's language, and carries its choice id on; a button (or card submit) that answers
 * nothing the conversation waits for is said so, with the waiting question again; an empty message
 * is answered here. The language is the message's own; text without one (an order number, "ok",
 * an emoji) keeps the conversation's, and only a first message falls back to the channel's locale.
 */
export const preprocessStage = (deps: StageDeps): NamedStage => ({
  name: 'preprocess',
  run: async (turn, next) => {
    const { event, state } = turn;
    const { runtime } = deps.dialog;
    const offered = runtime.offered(turn.progress.flow);
    // A yes/no question asked as plain text ("did that help?") still takes a Yes or No button.
    const answers = runtime.awaitsYesOrNo(turn.progress.flow) ? [...offered, ...YES_NO_CHOICES] : offered;
    const tapped = tappedChoice(event, answers);
    if (event.kind === 'action' && !tapped) {
      // While a person is awaited or in charge, the tap still reaches the ticket.
      if (state.handoff !== 'bot') await forwardToTicket(turn, deps);
      if (state.handoff !== 'human') unusableAction(turn, deps);
      return;
    }
    turn.raw = tapped
      ? tapped.title[turn.language]
      : (event.text ?? event.action?.title ?? actionValue(event) ?? '');
    const pre = preprocess(turn.raw, {
      now: turn.now,
      timezoneOffsetMinutes: deps.config.dialog.timezoneOffsetMinutes,
      patterns: deps.dialog.config.entities.patterns,
      tenant: event.ref.tenant,
      localeHint: state.locale ?? event.locale,
    });
    turn.pre = pre;
    turn.language = pre.language;
    state.locale = pre.language;
    turn.choice = tapped?.id ?? numberedChoice(pre.text, offered)?.id;
    if (pre.text) return next();
    await answerEmpty(turn, deps);
  },
});

/**
 * A button or card submit that matches no question the conversation waits for (an old button, a
 * card of another bot): not an empty message, not words to guess at. Say so, and ask again what
 * the conversation waits for, if anything.
 */
function unusableAction(turn: TurnContext, deps: StageDeps): void {
  turn.source = 'system';
  turn.trace.intent = { name: 'unusable_action', confidence: 1, tier: 'rules', candidates: [] };
  const again = deps.dialog.runtime.reprompt(turn.progress.flow, turn.language);
  sayText(turn, say(again.length ? 'staleButton' : 'unusableButton', turn.language));
  turn.replies.push(...again);
}

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
