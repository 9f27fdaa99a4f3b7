import { z } from 'zod';
import { RATE_LIMITED_RESPONSE, type RouteDoc } from '../../core/http/route-doc';
import { SESSION_PATTERN } from './protocol';

export const webchatPageDoc: RouteDoc = {
  summary: 'The web chat page (the widget, full page or framed by embedOrigins)',
  tags: ['webchat'],
  responses: { 200: { description: 'HTML page', contentType: 'text/html; charset=utf-8' } },
};

export const webchatAssetDoc = (name: string, contentType: string): RouteDoc => ({
  summary: `The widget's ${name}`,
  tags: ['webchat'],
  responses: { 200: { description: name, contentType } },
});

export const webchatSocketDoc: RouteDoc = {
  summary: "The widget's WebSocket: customer messages in, replies and history out",
  description:
    'Upgrade to a WebSocket (connectors/webchat/protocol.ts defines the JSON frames). Without a session the hub starts one and sends a `session` frame with its id and a signed, expiring token; a reconnect sends both, and the hub sends a fresh token when the old one is past half its life. A bad session id, or a token that is missing, wrong, expired or for another session, is closed with 1008. Too many open sockets from one address: an error frame, then 1013; messages over security.rateLimits.webchat get an error frame `rate_limited` with retryAfterMs.',
  tags: ['webchat'],
  websocket: true,
  query: z.object({
    session: z
      .string()
      .regex(SESSION_PATTERN)
      .optional()
      .describe('The conversation to rejoin, from the `session` frame; leave out to start one'),
    token: z
      .string()
      .optional()
      .describe("The session's token from its `session` frame; required with session"),
  }),
  responses: {
    101: { description: 'Switching Protocols: the WebSocket is open' },
    429: RATE_LIMITED_RESPONSE,
  },
};
