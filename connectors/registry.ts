import { createRestConnector } from './rest/connector';
import type { ConnectorFactory } from './types';
import { createWebchatConnector } from './webchat/connector';

/** Channel types by name: a new channel is one folder and one line here. */
export const connectorFactories: Record<string, ConnectorFactory> = {
  rest: createRestConnector,
  webchat: createWebchatConnector,
};
