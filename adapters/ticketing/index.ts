import type { Kysely } from 'kysely';
import type { TicketingConfig } from '../../core/config/adapters-schema';
import type { TicketDatabase } from '../../core/tickets/schema';
import { HubError, type TicketingAdapter } from '../../core/types';
import { DemoTicketing } from './demo';
import { FreshdeskTicketing } from './freshdesk';
import { JiraSmTicketing } from './jira-sm';
import { RtTicketing } from './rt';
import { ServiceNowTicketing } from './servicenow';
import { WebhookTicketing } from './webhook';
import { ZendeskTicketing } from './zendesk';

export { DemoTicketing } from './demo';
export { describeTicket } from './describe';
export { FreshdeskTicketing } from './freshdesk';
export { JiraSmTicketing } from './jira-sm';
export { RtTicketing } from './rt';
export { ServiceNowTicketing } from './servicenow';
export { WebhookTicketing } from './webhook';
export { ZendeskTicketing } from './zendesk';

export interface TicketingDeps {
  db: Kysely<TicketDatabase>;
}

type Factory = (config: TicketingConfig, deps: TicketingDeps) => TicketingAdapter;

/** Helpdesks by driver name: a new one is one file plus one line here. */
export const ticketingFactories: Record<TicketingConfig['driver'], Factory> = {
  demo: (_config, deps) => new DemoTicketing(deps.db),
  zendesk: (config) =>
    new ZendeskTicketing({ ...required(config.zendesk, 'zendesk'), timeoutMs: config.timeoutMs }),
  rt: (config) => new RtTicketing({ ...required(config.rt, 'rt'), timeoutMs: config.timeoutMs }),
  freshdesk: (config) =>
    new FreshdeskTicketing({ ...required(config.freshdesk, 'freshdesk'), timeoutMs: config.timeoutMs }),
  jiraSm: (config) =>
    new JiraSmTicketing({ ...required(config.jiraSm, 'jiraSm'), timeoutMs: config.timeoutMs }),
  servicenow: (config) =>
    new ServiceNowTicketing({ ...required(config.servicenow, 'servicenow'), timeoutMs: config.timeoutMs }),
  webhook: (config) =>
    new WebhookTicketing({ ...required(config.webhook, 'webhook'), timeoutMs: config.timeoutMs }),
};

export function createTicketing(config: TicketingConfig, deps: TicketingDeps): TicketingAdapter {
  return ticketingFactories[config.driver](config, deps);
}

function required<T>(section: T | undefined, name: string): T {
  if (!section) {
    throw new HubError(
      'config.ticketing',
      `ticketing.driver is "${name}" but ticketing.${name} is missing. Fix: add it (see config/hub.yaml).`,
    );
  }
  return section;
}
