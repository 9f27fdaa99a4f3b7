import type { DraftPlatform } from '../../core/outbound/draft';
import type { PlatformSender } from '../../core/outbound/types';
import { escapeSlack } from './mrkdwn';
import type { SlackPost } from './render';

/** A draft shows in one section-sized message; the rest appears with the final reply. */
export const SLACK_DRAFT_CHARS = 2_900;

/**
 * Drafts on Slack: chat.postMessage, then chat.update of its `ts`
 * (https://api.slack.com/methods/chat.update); the final reply's first post (mrkdwn and Block Kit
 * buttons) updates the draft in place, in its thread.
 */
export function slackDraftPlatform(sender: PlatformSender<SlackPost>): DraftPlatform<SlackPost> {
  return {
    channel: sender.channel,
    render: (message) => sender.render(message),
    rules: (message, post) => sender.rules(message, post),
    send: (message, post) => sender.send(message, post),
    draftPost(message, text) {
      const thread = message.ref.thread ? { thread_ts: message.ref.thread } : {};
      return {
        method: 'chat.postMessage',
        payload: { channel: message.ref.conversation, text: escapeSlack(text), ...thread },
      };
    },
    draftEdit(message, ts, text) {
      return {
        method: 'chat.update',
        payload: { channel: message.ref.conversation, ts, text: escapeSlack(text) },
      };
    },
    editInto(post, ts) {
      if (post.method !== 'chat.postMessage') return undefined;
      const { channel, text, blocks } = post.payload;
      // A draft has no blocks, so a reply without any leaves them out (Slack keeps the message's blocks then).
      return { method: 'chat.update', payload: { channel, ts, text, ...(blocks ? { blocks } : {}) } };
    },
  };
}
