import { LogLevel, type Logger as SlackLogger, SocketModeClient } from '@slack/socket-mode';
import type { Logger } from '../../core/log';
import { slackApiBase } from './sender';

export interface SocketStatus {
  /** Why events are not arriving now (connecting, refused app token, reconnecting), or undefined. */
  problem?: string;
}

/** One Socket Mode envelope as the SDK hands it over: `events_api`, `interactive`, `slash_commands`. */
export interface SocketEnvelope {
  type: string;
  envelopeId: string;
  body: unknown;
  retryAttempt?: number;
}

/**
 * The SDK's logger onto the hub's. Its debug lines quote whole envelopes (customer text) and the
 * WebSocket URL, so debug is dropped; the rest goes out as the message only.
 */
function slackLogger(logger: Logger): SlackLogger {
  const line = (parts: unknown[]) => parts.map(String).join(' ');
  return {
    debug: () => {},
    info: (...parts) => logger.info({ component: 'slack-socket' }, line(parts)),
    warn: (...parts) => logger.warn({ component: 'slack-socket' }, line(parts)),
    error: (...parts) => logger.error({ component: 'slack-socket' }, line(parts)),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

/**
 * Slack Socket Mode (https://api.slack.com/apis/socket-mode) with @slack/socket-mode: the client
 * calls apps.connections.open with the app token, connects to the WebSocket URL it gets, and
 * reconnects when Slack asks it to. Each envelope is acknowledged with its envelope_id only after
 * `handle` resolves, i.e. once the event is durable on the bus; an envelope whose handling failed
 * is left unacknowledged, so Slack delivers it again.
 */
export function startSocketMode(options: {
  appToken: string;
  apiUrl: string;
  logger: Logger;
  handle: (envelope: SocketEnvelope) => Promise<void>;
}): { status: SocketStatus; stop(): Promise<void> } {
  const status: SocketStatus = { problem: 'socket mode: connecting' };
  const client = new SocketModeClient({
    appToken: options.appToken,
    logger: slackLogger(options.logger),
    clientOptions: {
      slackApiUrl: slackApiBase(options.apiUrl),
      retryConfig: { retries: 5, factor: 1.6 },
    },
  });
  client.on('connected', () => {
    status.problem = undefined;
  });
  client.on('reconnecting', () => {
    status.problem = 'socket mode: reconnecting';
  });
  client.on(
    'slack_event',
    (event: {
      ack: () => Promise<void>;
      envelope_id: string;
      type: string;
      body: unknown;
      retry_num?: number;
    }) => {
      options
        .handle({
          type: event.type,
          envelopeId: event.envelope_id,
          body: event.body,
          retryAttempt: event.retry_num,
        })
        .then(
          () => event.ack(),
          (error: unknown) =>
            options.logger.warn(
              { code: (error as { code?: string }).code, retryAttempt: event.retry_num },
              'slack envelope not accepted; left unacknowledged for Slack to redeliver',
            ),
        )
        .catch((error: unknown) =>
          options.logger.warn({ code: (error as { code?: string }).code }, 'slack envelope ack failed'),
        );
    },
  );
  client.start().catch((error: unknown) => {
    const reason =
      (error as { data?: { error?: string } } | undefined)?.data?.error ??
      (error as Error | undefined)?.message ??
      'disconnected';
    status.problem = `apps.connections.open: ${reason} (check appToken)`;
    options.logger.error({ reason }, 'slack socket mode could not start; no events will arrive');
  });
  return {
    status,
    async stop() {
      await client.disconnect();
    },
  };
}
