import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Normalized } from '../../connectors/shared/normalized';
import { normalizeSlackEvent } from '../../connectors/slack/normalize';
import { verifySlackSignature } from '../../connectors/slack/verify';
import { BotFrameworkTokenValidator } from '../../connectors/teams/auth';
import { invokeResponse } from '../../connectors/teams/connector';
import { normalizeTeamsActivity } from '../../connectors/teams/normalize';
import { secretMatches } from '../../connectors/telegram/connector';
import { normalizeTelegramUpdate } from '../../connectors/telegram/normalize';
import { normalizeWhatsAppWebhook, type WhatsAppBatch } from '../../connectors/whatsapp/normalize';
import { verifyWhatsAppSignature } from '../../connectors/whatsapp/verify';
import type { InboundEvent } from '../../core/types';
import { OpenIdEmulator } from '../emulators/openid-emulator';

/**
 * The shared corpus of real platform payloads (../shared/data/webhook-payloads), each checked against
 * what its INDEX.md says a correct connector does. Skipped where the corpus is not mounted.
 */
const CORPUS =
  process.env.WEBHOOK_PAYLOADS_DIR ??
  join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'webhook-payloads');
const present = existsSync(join(CORPUS, 'INDEX.md'));

const read = (file: string) => readFileSync(join(CORPUS, file));
const json = (file: string) => JSON.parse(read(file).toString('utf8'));

const tg = (file: string) =>
  normalizeTelegramUpdate(json(`telegram/${file}`), {
    channel: 'tg',
    tenant: 'default',
    botId: 7000000001,
    botUsername: 'FakeHubBot',
  });
// The identities INDEX.md says to configure; a running connector learns them from auth.test.
const SLACK_IDENTITY = { channel: 'sl', tenant: 'default', botUserId: 'U00FAKEBOT01', botId: 'B00FAKEBOT01' };
const sl = (file: string) => normalizeSlackEvent(json(`slack/${file}`), SLACK_IDENTITY);

function event(result: Normalized): InboundEvent {
  if ('ignored' in result) throw new Error(`expected an event, got ignored: ${result.ignored}`);
  return result.event;
}
const ignored = (result: Normalized) => ('ignored' in result ? result.ignored : undefined);

const telegramExpectations: Record<string, (r: Normalized) => void> = {
  'private_text_command.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'message',
      text: '/start',
      sender: { id: '1111111' },
      ref: { conversation: '1111111' },
      addressedToBot: true,
    }),
  'supergroup_mention_chinese_utf16.json': (r) => {
    const e = event(r);
    expect(e).toMatchObject({
      kind: 'message',
      text: '😀 你好 请帮我查一下订单 #A123',
      addressedToBot: true,
      sender: { id: '3333333', name: '小明' },
    });
    expect(e.ref.conversation).toBe('-1001000000001');
    expect(e.mentions).toEqual([{ id: 'FakeHubBot', text: '@FakeHubBot', isBot: true }]);
  },
  'edited_message.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'edit',
      platformMessageId: '1365',
      text: 'Edited text',
      ref: { conversation: '1111111' },
    }),
  'photo.json': (r) => {
    const e = event(r);
    expect(e).toMatchObject({
      kind: 'message',
      sender: { id: '4444444', name: expect.stringContaining('Андрей') },
    });
    expect(e.text).toBeUndefined();
    expect(e.attachments).toEqual([
      expect.objectContaining({ kind: 'image', fileId: 'FAKE_PHOTO_FILE_ID_962x719' }),
    ]);
  },
  'voice.json': (r) =>
    expect(event(r).attachments).toEqual([
      expect.objectContaining({
        kind: 'voice',
        fileId: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX',
        mimeType: 'audio/ogg',
      }),
    ]),
  'document.json': (r) =>
    expect(event(r).attachments).toEqual([
      expect.objectContaining({
        kind: 'file',
        name: 'Testfile.pdf',
        mimeType: 'application/pdf',
        sizeBytes: 536392,
      }),
    ]),
  'sticker.json': (r) => {
    const e = event(r);
    expect(e.text).toBeUndefined();
    expect(e.attachments?.[0]?.kind).toBe('sticker');
  },
  'location.json': (r) =>
    expect(event(r).attachments).toEqual([
      { kind: 'location', location: { latitude: 39.908722, longitude: 116.397499 } },
    ]),
  'my_chat_member_bot_added_to_group.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      sender: { id: '1111111' },
      ref: { conversation: '-1001000000001' },
      membership: { change: 'joined', memberIds: ['7000000001'], botIncluded: true },
    }),
  'new_chat_members_user_joined.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      membership: { change: 'joined', memberIds: ['5555555'], botIncluded: false },
    }),
  'self_message_from_bot.json': (r) => expect(ignored(r)).toBe('own_echo'),
  'long_text_4096.json': (r) => {
    const text = event(r).text ?? '';
    expect(text).toHaveLength(4096);
    expect(text.endsWith('<<END-OF-LONG-MESSAGE>>')).toBe(true);
  },
};

const slackExpectations: Record<string, (r: Normalized) => void> = {
  'url_verification.json': (r) => expect(ignored(r)).toBe('not_an_event'),
  'message_im.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'message',
      text: 'test',
      sender: { id: 'U00FAKEUSER1' },
      ref: { conversation: 'D00FAKEDM001' },
      addressedToBot: true,
    }),
  'message_channel_bot_mention.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'message',
      text: 'Can you see the name of this channel: <#C00FAKECHAN2>?',
      ref: { conversation: 'C00FAKECHAN1' },
      addressedToBot: true,
    }),
  'app_mention.json': (r) => {
    const e = event(r);
    expect(e).toMatchObject({
      kind: 'message',
      text: 'is it everything a river should be?',
      sender: { id: 'U00FAKEUSER1' },
      addressedToBot: true,
    });
    expect(e.id).toBe(`sl:C00FAKECHAN1:${e.platformMessageId}`);
  },
  'thread_reply.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'message',
      text: 'Hi',
      ref: { conversation: 'C00FAKECHAN1', thread: '1767224888.280449' },
    }),
  'message_changed_user_edit.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'edit',
      platformMessageId: '1355517523.000005',
      text: 'Hello, world!',
      sender: { id: 'U00FAKEUSER1' },
    }),
  'message_file_share.json': (r) => {
    const e = event(r);
    expect(e.text).toBe('Hi there!');
    expect(e.attachments).toEqual([
      expect.objectContaining({
        kind: 'image',
        fileId: 'F00FAKEFILE1',
        name: 'file.png',
        mimeType: 'image/png',
        sizeBytes: 92582,
        url: expect.stringContaining('files.slack.com'),
      }),
    ]);
  },
  'bot_own_message_echo.json': (r) => expect(ignored(r)).toBe('own_echo'),
  'member_joined_channel_bot.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      ref: { conversation: 'C00FAKECHAN1' },
      membership: { memberIds: ['U00FAKEBOT01'], botIncluded: true },
    }),
  'channel_join_subtype_self.json': (r) => expect(ignored(r)).toMatch(/channel_join/),
  'message_long_text.json': (r) => {
    const text = event(r).text ?? '';
    expect(text).toHaveLength(12_000);
    expect(text.endsWith('<<END-OF-LONG-MESSAGE>>')).toBe(true);
  },
  'message_deleted.json': (r) => expect(ignored(r)).toBe('deleted'),
};

describe.skipIf(!present)('shared webhook corpus', () => {
  it.each(Object.entries(telegramExpectations))('telegram/%s is handled as INDEX.md says', (file, check) =>
    check(tg(file)),
  );
  it.each(Object.entries(slackExpectations))('slack/%s is handled as INDEX.md says', (file, check) =>
    check(sl(file)),
  );

  it('covers every Telegram and Slack file of the corpus', () => {
    const index = read('INDEX.md').toString('utf8');
    const listed = [...index.matchAll(/`((?:telegram|slack)\/[\w.-]+\.json)`/g)].map((m) => m[1]);
    const covered = [
      ...Object.keys(telegramExpectations).map((f) => `telegram/${f}`),
      ...Object.keys(slackExpectations).map((f) => `slack/${f}`),
    ];
    expect(new Set(listed)).toEqual(new Set(covered));
  });

  it('the message and app_mention events of one Slack message share an event id', () => {
    const mention = json('slack/message_channel_bot_mention.json');
    const asAppMention = {
      ...mention,
      event_id: 'Ev_other',
      event: { ...mention.event, type: 'app_mention' },
    };
    const a = event(normalizeSlackEvent(mention, SLACK_IDENTITY));
    const b = event(normalizeSlackEvent(asAppMention, SLACK_IDENTITY));
    expect(a.id).toBe(b.id);
  });

  it('verifies the Slack signature test vectors over the raw bytes', () => {
    const body = read('slack/message_im.json');
    const signature = 'v0=267e42620b871d85c66c8d2275bf36dda2b8cf397a49f083335023dfb35c634f';
    const input = {
      signingSecret: 'FAKE_slack_signing_secret_000000',
      timestamp: '1700000000',
      signature,
      body,
    };
    expect(verifySlackSignature({ ...input, nowSeconds: 1_700_000_100 })).toEqual({ ok: true });
    expect(verifySlackSignature(input)).toEqual({ ok: false, reason: 'stale' });
    expect(verifySlackSignature({ ...input, nowSeconds: 1_700_000_301 })).toEqual({
      ok: false,
      reason: 'stale',
    });
    const flipped = Buffer.from(body);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(verifySlackSignature({ ...input, body: flipped, nowSeconds: 1_700_000_000 }).ok).toBe(false);
    expect(
      verifySlackSignature({ ...input, signature: signature.replace('v0', 'v1'), nowSeconds: 1_700_000_000 })
        .ok,
    ).toBe(false);
    expect(verifySlackSignature({ ...input, timestamp: undefined, nowSeconds: 1_700_000_000 }).ok).toBe(
      false,
    );
    // Slack's documented example (a slash command body).
    const official = Buffer.from(
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    );
    expect(
      verifySlackSignature({
        signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
        timestamp: '1531420618',
        signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
        body: official,
        nowSeconds: 1_531_420_618,
      }),
    ).toEqual({ ok: true });
  });

  it('checks the Telegram secret-token test vector', () => {
    const secret = 'FAKE_tg_secret_token-0123456789_abc';
    expect(secretMatches(secret, secret)).toBe(true);
    expect(secretMatches(undefined, secret)).toBe(false);
    expect(secretMatches('', secret)).toBe(false);
    expect(secretMatches('FAKE_tg_secret_token-0123456789_abd', secret)).toBe(false);
  });
});

// WhatsApp Cloud API: the identities INDEX.md says to configure.
const wa = (file: string) =>
  normalizeWhatsAppWebhook(json(`whatsapp-cloud/${file}`), {
    channel: 'wa',
    tenant: 'default',
    phoneNumberId: '100000000000001',
  });
/** The one message a file holds, as an event; receipts files hold none. */
function waEvent(batch: WhatsAppBatch): InboundEvent {
  expect(batch.messages).toHaveLength(1);
  expect(batch.statuses).toHaveLength(0);
  return event(batch.messages[0] as Normalized);
}
const WA_CUSTOMER = {
  sender: { id: '15550002222', name: 'Test User' },
  ref: { channel: 'wa', conversation: '15550002222' },
  channelData: { verified: { phone: '+15550002222' } },
};
const waReceipt = (state: string) => (batch: WhatsAppBatch) => {
  expect(batch.messages).toHaveLength(0);
  expect(batch.statuses).toEqual([{ messageId: 'wamid.FAKE_OUTBOUND_TEXT_0001', state }]);
};

const whatsappExpectations: Record<string, (b: WhatsAppBatch) => void> = {
  'text.json': (b) =>
    expect(waEvent(b)).toMatchObject({
      ...WA_CUSTOMER,
      id: 'wa:wamid.FAKE_TEXT_0001',
      kind: 'message',
      text: 'Does it come in another color?',
      platformMessageId: 'wamid.FAKE_TEXT_0001',
      addressedToBot: true,
    }),
  'text_long_4096.json': (b) => {
    const text = waEvent(b).text ?? '';
    expect(text).toHaveLength(4096);
    expect(text.endsWith('<<END-OF-LONG-MESSAGE>>')).toBe(true);
  },
  'image.json': (b) => {
    const e = waEvent(b);
    expect(e).toMatchObject(WA_CUSTOMER);
    expect(e.text).toBeUndefined();
    expect(e.attachments).toEqual([{ kind: 'image', fileId: '900000000000004', mimeType: 'image/jpeg' }]);
  },
  'voice.json': (b) =>
    expect(waEvent(b).attachments).toEqual([
      { kind: 'voice', fileId: '900000000000005', mimeType: 'audio/ogg; codecs=opus' },
    ]),
  'document.json': (b) => {
    const e = waEvent(b);
    expect(e.text).toBe('caption');
    expect(e.attachments).toEqual([
      expect.objectContaining({
        kind: 'file',
        fileId: '900000000000006',
        name: 'filename.pdf',
        mimeType: 'application/pdf',
      }),
    ]);
    expect(e.channelData?.whatsapp).toMatchObject({ forwarded: true });
  },
  'sticker.json': (b) => {
    const e = waEvent(b);
    expect(e.text).toBeUndefined();
    expect(e.attachments).toEqual([{ kind: 'sticker', fileId: '900000000000007', mimeType: 'image/webp' }]);
  },
  'location.json': (b) => {
    const e = waEvent(b);
    expect(e.attachments).toEqual([
      {
        kind: 'location',
        location: {
          latitude: 37.4611978,
          longitude: -122.2164385,
          name: 'Facebook HQ',
          address: '1 Hacker Way, Menlo Park, CA 94025',
        },
        url: 'https://maps.google.com/?cid=2000000000000000000',
      },
    ]);
    expect(e.channelData?.whatsapp).toMatchObject({ forwarded: true });
  },
  'contacts.json': (b) =>
    expect(waEvent(b).attachments).toEqual([
      {
        kind: 'contacts',
        contacts: [
          { name: 'Chandler Bing', phones: ['+1 555-555-5555'] },
          { name: 'Monica', phones: ['+1 666-666-6666'] },
          { name: 'Rachel Green', phones: ['+1 777-777-7777'] },
        ],
      },
    ]),
  'interactive_button_reply.json': (b) =>
    expect(waEvent(b)).toMatchObject({
      ...WA_CUSTOMER,
      kind: 'action',
      action: { id: 'confirm_order_42', title: 'Confirm' },
      replyToMessageId: 'wamid.FAKE_OUTBOUND_INTERACTIVE_0001',
    }),
  'status_sent.json': waReceipt('sent'),
  'status_delivered.json': waReceipt('delivered'),
  'status_read.json': waReceipt('read'),
  'status_failed.json': (b) => {
    expect(b.messages).toHaveLength(0);
    expect(b.statuses).toEqual([
      {
        messageId: 'wamid.FAKE_OUTBOUND_TEXT_0001',
        state: 'failed',
        error: { code: 130472, title: "User's number is part of an experiment" },
      },
    ]);
  },
};

describe.skipIf(!present)('shared webhook corpus: whatsapp-cloud', () => {
  it.each(Object.entries(whatsappExpectations))(
    'whatsapp-cloud/%s is handled as INDEX.md says',
    (file, check) => check(wa(file)),
  );

  it('covers every WhatsApp Cloud file of the corpus', () => {
    const index = read('INDEX.md').toString('utf8');
    const listed = [...index.matchAll(/`(whatsapp-cloud\/[\w.-]+\.json)`/g)].map((m) => m[1]);
    expect(new Set(listed)).toEqual(
      new Set(Object.keys(whatsappExpectations).map((f) => `whatsapp-cloud/${f}`)),
    );
  });

  it('verifies the X-Hub-Signature-256 test vector over the raw bytes', () => {
    const secret = 'FAKE_meta_app_secret_00000000000';
    const body = read('whatsapp-cloud/text.json');
    expect(body.length).toBe(939);
    const header = 'sha256=ef2f9ad5d4350328b3820e575dcb503412407fe420fc83ee20f204485fe5a40d';
    expect(verifyWhatsAppSignature(secret, header, body)).toBe(true);
    // Re-serialized JSON has other bytes: its signature must not verify the stored body, nor vice versa.
    const compact = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
    const compactHeader = 'sha256=e4919fd63c1527dbc0042118319ce3c6556c7b14d57b8874cdb71a91dd786d46';
    expect(verifyWhatsAppSignature(secret, compactHeader, compact)).toBe(true);
    expect(verifyWhatsAppSignature(secret, compactHeader, body)).toBe(false);
    expect(verifyWhatsAppSignature(secret, header, compact)).toBe(false);
    const flipped = Buffer.from(body);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(verifyWhatsAppSignature(secret, header, flipped)).toBe(false);
    expect(verifyWhatsAppSignature('FAKE_meta_app_secret_00000000001', header, body)).toBe(false);
    expect(verifyWhatsAppSignature(secret, header.replace('sha256=', ''), body)).toBe(false);
    expect(verifyWhatsAppSignature(secret, undefined, body)).toBe(false);
  });
});

// The Teams identities INDEX.md says to configure.
const TEAMS_APP_ID = '11111111-2222-3333-4444-555555555555';
const TEAMS_BOT = `28:${TEAMS_APP_ID}`;
const TEAMS_TENANT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const TEAMS_USER = expect.stringMatching(/^29:1xXxFakeUser.*ABCDEF$/);
const TEAMS_CHANNEL = '19:fakechannel00000000000000000001@thread.tacv2';
const TEAMS_TEAM = '19:FakeTeamId000000000000000000001@thread.tacv2';
const TEAMS_PERSONAL = 'a:1FakePersonalConversationIdForTeamsBotTests000000000000000000000000000000000000001';
const tm = (file: string) =>
  normalizeTeamsActivity(json(`teams/${file}`), { channel: 'tm', tenant: 'default', appId: TEAMS_APP_ID });

const teamsExpectations: Record<string, (r: Normalized) => void> = {
  'personal_message.json': (r) =>
    expect(event(r)).toMatchObject({
      id: `tm:${TEAMS_PERSONAL}:1767378504354`,
      kind: 'message',
      text: 'Hey',
      sender: { id: TEAMS_USER },
      ref: { conversation: TEAMS_PERSONAL },
      addressedToBot: true,
      channelData: {
        teams: {
          tenantId: TEAMS_TENANT,
          aadObjectId: '00000000-1111-2222-3333-444444444444',
          serviceUrl: 'https://smba.trafficmanager.net/amer/a1b2c3d4-e5f6-7890-abcd-ef1234567890/',
        },
      },
    }),
  'channel_mention.json': (r) => {
    const e = event(r);
    expect(e).toMatchObject({
      kind: 'message',
      text: 'Hey',
      addressedToBot: true,
      ref: { conversation: TEAMS_CHANNEL, thread: '1771290107407' },
      channelData: {
        teams: {
          conversationId: `${TEAMS_CHANNEL};messageid=1771290107407`,
          teamsChannelId: TEAMS_CHANNEL,
          teamId: TEAMS_TEAM,
          tenantId: TEAMS_TENANT,
        },
      },
    });
    // The text/html twin of the message is not an attachment.
    expect(e.attachments).toBeUndefined();
    expect(e.mentions).toEqual([{ id: TEAMS_BOT, text: '<at>Fake Hub Bot</at>', isBot: true }]);
  },
  'conversation_update_bot_added_to_team.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      ref: { conversation: TEAMS_CHANNEL },
      membership: { change: 'joined', memberIds: [TEAMS_BOT], botIncluded: true },
      channelData: { teams: { teamId: TEAMS_TEAM, tenantId: TEAMS_TENANT, eventType: 'teamMemberAdded' } },
    }),
  'conversation_update_bot_added_personal.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      ref: { conversation: TEAMS_PERSONAL },
      membership: { change: 'joined', memberIds: [TEAMS_BOT, TEAMS_USER], botIncluded: true },
    }),
  'conversation_update_member_removed.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      membership: {
        change: 'left',
        memberIds: [expect.stringMatching(/^29:1FakeRemovedUser/)],
        botIncluded: false,
      },
    }),
  'message_reaction_added.json': (r) => {
    const e = event(r);
    expect(e).toMatchObject({
      kind: 'reaction',
      sender: { id: TEAMS_USER },
      reaction: { name: 'like', messageId: '1767326111492', added: true },
    });
    expect(e.text).toBeUndefined();
  },
  'invoke_adaptive_card_action_execute.json': (r) => {
    const e = event(r);
    expect(e).toMatchObject({
      kind: 'action',
      addressedToBot: true,
      action: {
        id: 'approveRequest',
        value: { verb: 'approveRequest', requestId: 'REQ-1001', comment: 'Looks good 👍' },
      },
    });
    expect(e.text).toBeUndefined();
    expect(invokeResponse('Received.')).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
      value: 'Received.',
    });
  },
  'installation_update_add.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'membership',
      membership: { change: 'joined', botIncluded: true },
      channelData: { teams: { installation: 'add', teamId: TEAMS_TEAM, teamsChannelId: TEAMS_CHANNEL } },
    }),
  'personal_message_chinese.json': (r) =>
    expect(event(r)).toMatchObject({
      kind: 'message',
      text: '你好，请帮我预订明天下午三点的会议室 🙏（十人，带投影）',
      ref: { conversation: TEAMS_PERSONAL },
    }),
  'personal_message_long_text.json': (r) => {
    const text = event(r).text ?? '';
    expect(text).toBe(json('teams/personal_message_long_text.json').text);
    expect(text.length).toBeGreaterThan(7_900);
    expect(text.endsWith('<<END-OF-LONG-MESSAGE>>')).toBe(true);
  },
  'self_echo_from_bot.json': (r) => expect(ignored(r)).toBe('own_echo'),
};

describe.skipIf(!present)('shared webhook corpus: teams', () => {
  let openid: OpenIdEmulator;
  beforeAll(async () => {
    openid = await new OpenIdEmulator({ appId: TEAMS_APP_ID, appPassword: 'unused' }).start();
  });
  afterAll(async () => openid?.stop());

  it.each(Object.entries(teamsExpectations))('teams/%s is handled as INDEX.md says', (file, check) =>
    check(tm(file)),
  );

  it('covers every Teams file of the corpus', () => {
    const index = read('INDEX.md').toString('utf8');
    const listed = [...index.matchAll(/`(teams\/[\w.-]+\.json)`/g)].map((m) => m[1]);
    expect(new Set(listed)).toEqual(new Set(Object.keys(teamsExpectations).map((f) => `teams/${f}`)));
  });

  it('authenticates corpus activities as SIGNATURES.md says, and rejects its forgeries', async () => {
    const validator = new BotFrameworkTokenValidator({
      appId: TEAMS_APP_ID,
      issuer: 'https://api.botframework.com',
      openIdMetadataUrl: openid.metadataUrl,
    });
    const activity = json('teams/personal_message.json');
    const check = async (token: string, body = activity) => {
      const verdict = await validator.verify(token);
      return verdict.ok ? (BotFrameworkTokenValidator.checkActivity(verdict, body) ?? 'ok') : verdict.reason;
    };
    const serviceUrl = activity.serviceUrl as string;
    expect(await check(openid.signChannelToken({ serviceUrl }))).toBe('ok');
    expect(await check(openid.signChannelToken({ serviceUrl, iss: 'https://api.botframework.us' }))).toBe(
      'wrong_issuer',
    );
    expect(await check(openid.signChannelToken({ serviceUrl, aud: 'https://api.botframework.com' }))).toBe(
      'wrong_audience',
    );
    expect(await check(openid.signChannelToken({ serviceUrl, expiresIn: -400 }))).toBe('expired');
    // conversation_update_member_removed.json names another serviceUrl than the token's.
    expect(
      await check(
        openid.signChannelToken({ serviceUrl }),
        json('teams/conversation_update_member_removed.json'),
      ),
    ).toBe('service_url_mismatch');
    expect(await check(openid.signChannelToken({ serviceUrl }, { key: 'unendorsed' }))).toBe('not_endorsed');
    expect(await check(openid.signChannelToken({ serviceUrl }, { alg: 'none' }))).toBe('bad_algorithm');
    expect(await check(openid.signChannelToken({ serviceUrl }, { alg: 'HS256' }))).toBe('bad_algorithm');
  });
});
