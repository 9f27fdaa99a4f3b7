import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackConnector } from '../../connectors/slack/connector';
import { channelIngress } from '../../core/channels/ingress';
import type { ChannelContext, Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import { webhookRejected } from '../../core/metrics';
import { MemoryKeyValueStore } from '../../core/storage';
import type { HubStore, InboundEvent } from '../../core/types';
import { until } from '../e2e/channel-helpers';
import { SlackEmulator } from '../emulators/slack-emulator';
import { counterValue } from '../support/channel-context';

const TOKEN = 'xoxb-0000000000-FAKEsocketunittoken';
const APP_TOKEN = 'xapp-1-A00FAKEAPP01-0000-FAKEsocketunitapp';

let slack: SlackEmulator;
const published: InboundEvent[] = [];
const seen = new Set<string>();
let failPublishes = 0;

function connector(config: Record<string, unknown>): Connector {
  const context: ChannelContext = {
    config: { id: 'slack-unit', type: 'slack', enabled: true, tenant: 'acme', ...config },
    hub: hubConfigSchema.parse({}),
    accept: channelIngress(async (event) => {
      if (failPublishes > 0) {
        failPublishes -= 1;
        throw new Error('bus unavailable');
      }
      if (seen.has(event.id)) return { accepted: false };
      seen.add(event.id);
      published.push(event);
      return { accepted: true };
    }),
    storage: new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: {} as HubStore,
    logger,
  };
  return createSlackConnector(context);
}

const message = (text: string, ts: string) => ({
  type: 'event_callback',
  team_id: 'T00FAKE00AA',
  api_app_id: 'A00FAKEAPP01',
  event_id: `Ev${ts.replace('.', '')}`,
  event: { type: 'message', channel: 'D00UNITDM001', channel_type: 'im', user: 'U00FAKEUSER1', text, ts },
});

beforeAll(async () => {
  slack = await new SlackEmulator({ token: TOKEN, appToken: APP_TOKEN }).start();
});

afterAll(async () => {
  await slack?.stop();
});

describe('Slack Socket Mode connector', () => {
  it('normalizes an envelope like the HTTP event, and leaves it unacked while the bus refuses it', async () => {
    const socket = connector({ botToken: TOKEN, socketMode: true, appToken: APP_TOKEN, apiUrl: slack.url });
    await socket.register(Fastify());
    try {
      await until('the connection', () => slack.sockets.length === 1);
      await until(
        'healthy',
        async () =>
          (await socket.health?.().then(
            () => true,
            () => false,
          )) ?? false,
      );
      failPublishes = 1;
      const body = message('Where is my parcel?', '1768100000.000100');
      const refused = slack.pushEnvelope(body);
      await until('the failed publish', () => failPublishes === 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(slack.acks.some((ack) => ack.envelopeId === refused)).toBe(false);
      // Slack redelivers the same event; now the bus takes it, and the envelope is acked.
      const retried = slack.pushEnvelope(body, { retryAttempt: 1 });
      await until('the ack', () => slack.acks.some((ack) => ack.envelopeId === retried));
      expect(published).toHaveLength(1);
      expect(published[0]).toMatchObject({
        id: 'slack-unit:D00UNITDM001:1768100000.000100',
        kind: 'message',
        text: 'Where is my parcel?',
        ref: { channel: 'slack-unit', tenant: 'acme', conversation: 'D00UNITDM001' },
        addressedToBot: true,
      });
      // A third delivery is a duplicate: acked, not published again.
      const third = slack.pushEnvelope(body, { retryAttempt: 2 });
      await until('the third ack', () => slack.acks.some((ack) => ack.envelopeId === third));
      expect(published).toHaveLength(1);
    } finally {
      await socket.close?.();
    }
    await until('the socket closed', () => slack.sockets.length === 0);
  });

  it('acks an envelope it cannot read (so Slack stops resending it), counted, publishing nothing', async () => {
    const socket = connector({ botToken: TOKEN, socketMode: true, appToken: APP_TOKEN, apiUrl: slack.url });
    await socket.register(Fastify());
    try {
      await until('the connection', () => slack.sockets.length === 1);
      const before = published.length;
      const rejected = await counterValue(webhookRejected, { channel: 'slack-unit' });
      const body = message('a file of no known type', '1768100001.000100');
      (body.event as Record<string, unknown>).files = [{ id: 'F00FAKE', mimetype: 7 }];
      const envelope = slack.pushEnvelope(body);
      await until('the ack', () => slack.acks.some((ack) => ack.envelopeId === envelope));
      expect(published.length).toBe(before);
      expect(
        await counterValue(webhookRejected, { channel: 'slack-unit', reason: 'slack.malformed_update' }),
      ).toBe(rejected + 1);
    } finally {
      await socket.close?.();
    }
    await until('the socket closed', () => slack.sockets.length === 0);
  });

  it('reports a refused app token on health and opens no socket', async () => {
    const socket = connector({
      botToken: TOKEN,
      socketMode: true,
      appToken: 'xapp-1-A00FAKEAPP01-0000-FAKEwrongapp',
      apiUrl: slack.url,
    });
    await socket.register(Fastify());
    try {
      let problem = '';
      await until('the refusal', async () => {
        problem = await (socket.health?.().then(
          () => '',
          (error: Error) => error.message,
        ) ?? '');
        return problem.includes('invalid_auth');
      });
      expect(problem).toBe('apps.connections.open: invalid_auth (check appToken)');
      expect(slack.sockets).toHaveLength(0);
    } finally {
      await socket.close?.();
    }
  });

  it('fails fast on a Socket Mode block without an app token, naming the key and the fix', () => {
    expect(() => connector({ botToken: TOKEN, socketMode: 'true', apiUrl: slack.url })).toThrow(
      /appToken: is required with socketMode: true\. Fix: set appToken: \$\{SLACK_APP_TOKEN\}/,
    );
    expect(() => connector({ botToken: TOKEN, apiUrl: slack.url })).toThrow(
      /signingSecret: is missing \(required unless socketMode: true\)/,
    );
  });
});
