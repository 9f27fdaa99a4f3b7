import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Normalized } from '../../connectors/shared/normalized';
import { normalizeSlackEvent } from '../../connectors/slack/normalize';
import { normalizeTeamsActivity } from '../../connectors/teams/normalize';
import { GROUP_ANONYMOUS_BOT_ID, normalizeTelegramUpdate } from '../../connectors/telegram/normalize';
import { normalizeWhatsAppWebhook } from '../../connectors/whatsapp/normalize';
import { HubError, type InboundEvent } from '../../core/types';

/**
 * The platforms' documented edge cases, each built from a real payload of the shared corpus
 * (../shared/data/webhook-payloads) with the documented fields changed: what the hub did wrong with
 * each before, and what it does now. Skipped where the corpus is not mounted.
 */
const CORPUS =
  process.env.WEBHOOK_PAYLOADS_DIR ??
  join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'webhook-payloads');
const present = existsSync(join(CORPUS, 'INDEX.md'));
// biome-ignore lint/suspicious/noExplicitAny: a platform payload to mutate, typed by the platform's docs
const json = (file: string): any => JSON.parse(readFileSync(join(CORPUS, file), 'utf8'));

const TG = { channel: 'tg', tenant: 'default', botId: 7000000001, botUsername: 'FakeHubBot' };
const SLACK = { channel: 'sl', tenant: 'default', botUserId: 'U00FAKEBOT01', botId: 'B00FAKEBOT01' };
const TEAMS = { channel: 'tm', tenant: 'default', appId: '11111111-2222-3333-4444-555555555555' };
const WA = { channel: 'wa', tenant: 'default', phoneNumberId: '100000000000001' };

function event(result: Normalized): InboundEvent {
  if ('ignored' in result) throw new Error(`expected an event, got ignored: ${result.ignored}`);
  return result.event;
}
const ignored = (result: Normalized) => ('ignored' in result ? result.ignored : undefined);

describe.skipIf(!present)('documented edge cases, on the shared corpus', () => {
  describe('telegram', () => {
    it('an anonymous group admin is the group it speaks for, not the shared GroupAnonymousBot', () => {
      const update = json('telegram/supergroup_mention_chinese_utf16.json');
      const chat = update.message.chat;
      // https://core.telegram.org/bots/api#message: sender_chat "the supergroup itself for messages
      // sent by its anonymous administrators"; from is then the placeholder bot.
      update.message.from = {
        id: GROUP_ANONYMOUS_BOT_ID,
        is_bot: true,
        first_name: 'Group',
        username: 'GroupAnonymousBot',
      };
      update.message.sender_chat = chat;
      const e = event(normalizeTelegramUpdate(update, TG));
      expect(e.sender).toEqual({ id: String(chat.id), name: chat.title, isBot: false });
      expect(e.text).toBe('😀 你好 请帮我查一下订单 #A123');
      expect(e.addressedToBot).toBe(true);
    });

    it('a linked channel post forwarded into the group is the channel (sender_chat), not Telegram 777000', () => {
      const update = json('telegram/supergroup_mention_chinese_utf16.json');
      update.message.from = { id: 777000, is_bot: false, first_name: 'Telegram' };
      update.message.sender_chat = { id: -1002000000001, title: 'Fake Channel', type: 'channel' };
      expect(event(normalizeTelegramUpdate(update, TG)).sender).toMatchObject({
        id: '-1002000000001',
        name: 'Fake Channel',
      });
    });

    it('a mention entity whose offsets do not point at an @username names nobody', () => {
      const update = json('telegram/supergroup_mention_chinese_utf16.json');
      // The hashtag's offsets typed as a mention: "#A123" is not a user.
      update.message.entities.push({ type: 'mention', offset: 27, length: 5 });
      update.message.entities.push({
        type: 'text_mention',
        offset: 3,
        length: 2,
        user: { id: 4444444, is_bot: false, first_name: 'Андрей' },
      });
      const e = event(normalizeTelegramUpdate(update, TG));
      expect(e.mentions).toEqual([
        { id: 'FakeHubBot', text: '@FakeHubBot', isBot: true },
        // A user without a username: the entity's text is their shown name, the id their number.
        { id: '4444444', text: '你好', isBot: false },
      ]);
      expect(e.text).toBe('😀 你好 请帮我查一下订单 #A123');
    });

    it('a text or chat of the wrong type is an ignored update, never a TypeError', () => {
      const update = json('telegram/private_text_command.json');
      update.message.text = { bold: '/start' };
      update.message.entities = [{ type: 'bot_command', offset: 0, length: 6 }];
      // An object where text belongs has no words to read.
      expect(ignored(normalizeTelegramUpdate(update, TG))).toBe('empty_message');
      update.message.chat = 'private';
      expect(ignored(normalizeTelegramUpdate(update, TG))).toBe('malformed');
    });
  });

  describe('slack', () => {
    it('an edit that changes nothing (message_changed, same text) is ignored', () => {
      const envelope = json('slack/message_changed_user_edit.json');
      envelope.event.previous_message = {
        type: 'message',
        user: 'U00FAKEUSER1',
        text: 'Hello, world!',
        ts: envelope.event.message.ts,
      };
      expect(ignored(normalizeSlackEvent(envelope, SLACK))).toBe('edit_unchanged');
      envelope.event.previous_message.text = 'Hello, wrld!';
      expect(event(normalizeSlackEvent(envelope, SLACK))).toMatchObject({
        kind: 'edit',
        text: 'Hello, world!',
      });
    });

    it('a bot_message from another integration, and the app echo, are not customer input', () => {
      const echo = json('slack/bot_own_message_echo.json');
      expect(ignored(normalizeSlackEvent(echo, SLACK))).toBe('own_echo');
      const other = json('slack/message_im.json');
      other.event.subtype = 'bot_message';
      other.event.bot_id = 'B00OTHERBOT1';
      expect(ignored(normalizeSlackEvent(other, SLACK))).toBe('bot_message');
    });

    it('fields of the wrong type are an ignored update or a typed 400', () => {
      const envelope = json('slack/message_im.json');
      envelope.event.text = 42;
      // No words, no files: nothing to answer.
      expect(ignored(normalizeSlackEvent(envelope, SLACK))).toBe('empty_message');
      envelope.event.user = { id: 'U00FAKEUSER1' };
      expect(ignored(normalizeSlackEvent(envelope, SLACK))).toBe('malformed');
      const files = json('slack/message_file_share.json');
      files.event.files = [{ id: 'F1', mimetype: 7 }];
      expect(catchError(() => normalizeSlackEvent(files, SLACK))).toBe('slack.malformed_update');
    });
  });

  describe('whatsapp', () => {
    const messageOf = (payload: { entry: Array<{ changes: Array<{ value: { messages: unknown[] } }> }> }) =>
      payload.entry[0]?.changes[0]?.value.messages as Array<Record<string, unknown>>;

    it('a list message row (interactive list_reply) is an action with its id and title', () => {
      const payload = json('whatsapp-cloud/interactive_button_reply.json');
      const [message] = messageOf(payload);
      (message as Record<string, unknown>).interactive = {
        type: 'list_reply',
        list_reply: { id: 'ship_express', title: 'Express', description: '1-2 days' },
      };
      const [result] = normalizeWhatsAppWebhook(payload, WA).messages;
      expect(event(result as Normalized).action).toEqual({
        id: 'ship_express',
        title: 'Express',
        value: 'ship_express',
      });
    });

    it("a template's quick-reply (type button) is an action on its payload, or its text when the payload is empty", () => {
      const payload = json('whatsapp-cloud/interactive_button_reply.json');
      const [message] = messageOf(payload);
      const m = message as Record<string, unknown>;
      delete m.interactive;
      m.type = 'button';
      m.button = { payload: 'TRACK_ORDER', text: 'Track my order' };
      const [first] = normalizeWhatsAppWebhook(payload, WA).messages;
      expect(event(first as Normalized).action).toEqual({
        id: 'TRACK_ORDER',
        title: 'Track my order',
        value: 'TRACK_ORDER',
      });
      m.button = { payload: '', text: 'Track my order' };
      const [second] = normalizeWhatsAppWebhook(payload, WA).messages;
      expect(event(second as Normalized).action?.id).toBe('Track my order');
    });

    it('status receipts are never chat messages', () => {
      for (const file of [
        'status_sent.json',
        'status_delivered.json',
        'status_read.json',
        'status_failed.json',
      ]) {
        const batch = normalizeWhatsAppWebhook(json(`whatsapp-cloud/${file}`), WA);
        expect(batch.messages, file).toEqual([]);
        expect(batch.statuses, file).toHaveLength(1);
      }
    });

    it('one unreadable message in a batch is set aside; the others go on', () => {
      const payload = json('whatsapp-cloud/text.json');
      const messages = messageOf(payload);
      const good = messages[0] as Record<string, unknown>;
      messages.push({ ...good, id: 'wamid.FAKE_BAD', text: { body: { nested: true } } });
      messages.push({
        ...good,
        id: 'wamid.FAKE_BAD_CAPTION',
        type: 'image',
        image: { id: '9', caption: 12 },
      });
      const batch = normalizeWhatsAppWebhook(payload, WA);
      expect(event(batch.messages[0] as Normalized).text).toBe('Does it come in another color?');
      expect(ignored(batch.messages[1] as Normalized)).toBe('malformed');
      expect(batch.rejected.map((r) => (r.error as HubError).code)).toEqual(['whatsapp.malformed_update']);
    });
  });

  describe('teams', () => {
    it('an Action.Submit with only `value` (no text) is an action on its data', () => {
      const activity = json('teams/personal_message.json');
      delete activity.text;
      activity.value = { hubAction: 'confirm_order', orderId: 'A123' };
      const e = event(normalizeTeamsActivity(activity, TEAMS));
      expect(e.kind).toBe('action');
      expect(e.action).toEqual({
        id: 'confirm_order',
        value: { hubAction: 'confirm_order', orderId: 'A123' },
      });
      expect(e.text).toBeUndefined();
    });

    it('a mention whose entity text differs from the message leaves the name, never <at> markup', () => {
      const activity = json('teams/channel_mention.json');
      // The bot was renamed: the message shows the old name, the entity the new one.
      activity.text = '<at>Old Bot Name</at> Hey <at>Ann Lee</at>';
      activity.entities.push({
        type: 'mention',
        text: '<at>Ann Lee</at>',
        mentioned: { id: '29:1FakeOtherUser', name: 'Ann Lee' },
      });
      const e = event(normalizeTeamsActivity(activity, TEAMS));
      expect(e.text).toBe('@Old Bot Name Hey @Ann Lee');
      expect(e.text).not.toMatch(/<\/?at>/);
      expect(e.mentions?.map((m) => m.id)).toEqual([
        '28:11111111-2222-3333-4444-555555555555',
        '29:1FakeOtherUser',
      ]);
      expect(e.addressedToBot).toBe(true);
    });

    it("the bot's own echo is ignored", () => {
      expect(ignored(normalizeTeamsActivity(json('teams/self_echo_from_bot.json'), TEAMS))).toBe('own_echo');
    });

    it('entities, attachments or text of the wrong type are read as absent, never a TypeError', () => {
      const activity = json('teams/personal_message.json');
      activity.entities = { type: 'mention' };
      activity.attachments = 'none';
      expect(event(normalizeTeamsActivity(activity, TEAMS)).text).toBe('Hey');
      activity.text = ['Hey'];
      expect(ignored(normalizeTeamsActivity(activity, TEAMS))).toBe('empty_message');
      activity.from = { id: 29 };
      expect(ignored(normalizeTeamsActivity(activity, TEAMS))).toBe('malformed');
    });
  });
});

/** The HubError code a call throws, or undefined when it returns; anything else fails the test. */
function catchError(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).status).toBe(400);
    return (error as HubError).code;
  }
}
