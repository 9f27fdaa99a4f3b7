import type { DraftPlatform } from '../../core/outbound/draft';
import type { PlatformSender } from '../../core/outbound/types';
import { TEXT_LIMIT } from './render';
import type { OutgoingActivity } from './wire';

/** Longest draft text, leaving room for the in-progress mark; the rest appears with the final reply. */
export const TEAMS_DRAFT_CHARS = TEXT_LIMIT - 8;

/**
 * Drafts on Teams: a plain message activity POSTed to the conversation, then replaced with
 * Update Activity (PUT /v3/conversations/{conversationId}/activities/{activityId},
 * https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/update-and-delete-bot-messages);
 * the final reply's first activity (markdown, or the Adaptive Card with its buttons) replaces the
 * draft. Updates count against the same per-thread limits as posts.
 */
export function teamsDraftPlatform(
  sender: PlatformSender<OutgoingActivity>,
): DraftPlatform<OutgoingActivity> {
  return {
    channel: sender.channel,
    render: (message) => sender.render(message),
    rules: (message, activity) => sender.rules(message, activity),
    send: (message, activity) => sender.send(message, activity),
    draftPost(message, text) {
      return { type: 'message', text, textFormat: 'plain', ...localeOf(message.locale) };
    },
    draftEdit(message, activityId, text) {
      return { type: 'message', id: activityId, text, textFormat: 'plain', ...localeOf(message.locale) };
    },
    editInto(activity, activityId) {
      if (activity.type !== 'message') return undefined;
      return { ...activity, id: activityId };
    },
  };
}

const localeOf = (locale: string | undefined) => (locale ? { locale } : {});
