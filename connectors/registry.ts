import type { ConnectorFactory } from '../core/channels/types';
import { createRestConnector } from './rest/connector';
import { createSlackConnector } from './slack/connector';
import { createTeamsConnector } from './teams/connector';
import { createTelegramConnector } from './telegram/connector';
import { createWebchatConnector } from './webchat/connector';
import { createWhatsAppConnector } from './whatsapp/connector';
import { createWhatsAppWebConnector } from './whatsapp-web/connector';

/** Channel types by name: a new channel is one folder and one line here. */
export const connectorFactories: Record<string, ConnectorFactory> = {
  rest: createRestConnector,
  webchat: createWebchatConnector,
  telegram: createTelegramConnector,
  slack: createSlackConnector,
  teams: createTeamsConnector,
  whatsapp: createWhatsAppConnector,
  'whatsapp-web': (context) => createWhatsAppWebConnector(context),
};
