import type { Choice, OutboundContent, OutboundMessage } from '../../types';
import type { NamedStage } from '../compose';
import { type Catalog, renderReply } from '../flows/messages';
import type { Language } from '../language';
import { isoNow, type TurnContext } from '../turn-context';
import type { StageDeps } from './deps';

/** The id of the one reply a turn produces; a channel's draft of it carries the same id. */
export const replyIdOf = (event: { id: string }) => `${event.id}#0`;

/**
 * The outermost stage: once the later stages are done, whichever ended the turn, the replies are
 * rendered in the customer's language as one message and the turn is written to the history.
 */
export const renderStage = (deps: StageDeps): NamedStage => ({
  name: 'render',
  run: async (turn, next) => {
    await next();
    render(turn, deps.catalog, deps.config.state.historyTurns);
  },
});

function render(turn: TurnContext, catalog: Catalog, historyTurns: number): void {
  const { event, state, language } = turn;
  turn.trace.replyKeys = turn.replies.map((r) => r.key);
  turn.trace.texts = turn.replies.map((r) => renderReply(r, language, catalog));
  const text = turn.trace.texts.filter((t) => t.trim()).join('\n\n');
  const at = isoNow(turn);
  const history = [...state.history];
  // The customer's words are recorded once a message was read (not for helpdesk updates or group chatter).
  if (turn.pre)
    history.push({
      role: 'user',
      text: turn.pre.text,
      at: event.receivedAt,
      eventId: event.id,
      locale: language,
    });
  if (text) history.push({ role: 'assistant', text, at, locale: language });
  state.history = history.slice(-historyTurns);
  const message: OutboundMessage = {
    id: replyIdOf(event),
    ref: event.ref,
    inReplyTo: event.id,
    content: contentOf(turn, text, language),
    citations: turn.citations,
    locale: language,
    createdAt: at,
    source: turn.source,
    ...authorOf(turn),
    ...(state.handoff === 'bot' ? {} : { handoff: state.handoff }),
  };
  turn.outbound = text ? [message] : [];
}

/** An agent's reply carries the agent, so the channel shows who writes (their joining is the bot's notice). */
function authorOf(turn: TurnContext): Pick<OutboundMessage, 'author'> {
  const update = turn.event.handoff;
  if (turn.source !== 'agent' || update?.change !== 'reply') return {};
  const name = update.agentName?.trim();
  return { author: { kind: 'agent', ...(name ? { name } : {}) } };
}

/** Buttons when the last reply — the question the conversation now waits on — offers answers. */
function contentOf(turn: TurnContext, text: string, language: Language): OutboundContent {
  const offered = turn.replies.at(-1)?.choices;
  if (!offered?.length) return { type: 'text', text, format: 'markdown' };
  const choices: Choice[] = offered.map((c) => ({ id: c.id, title: c.title[language] }));
  return { type: 'choices', text, choices };
}
