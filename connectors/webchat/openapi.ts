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
    'Upgrade to a WebSocket (connectors/webchat/protocol.ts defines the JSON frames). The session id names the conversation; a bad one is closed with 1008. Too many open sockets from one address: an error frame, then 1013; messages over security.rateLimits.webchat get an error frame `rate_limited` with retryAfterMs.',
  tags: ['webchat'],
  websocket: true,
  query: z.object({
    session: z.string().regex(SESSION_PATTERN).describe('The browser-chosen conversation id'),
  }),
  responses: {
    101: { description: 'Switching Protocols: the WebSocket is open' },
    429: RATE_LIMITED_RESPONSE,
  },
};
