import { type TicketingConfig, ticketingSectionSchema } from '../../core/config/adapters-schema';
import { type ConfigIssue, PluginRegistry, type PluginSection } from '../../core/config/plugins';
import { unknownKeyIssues } from '../../core/config/unknown-keys';
import { signedWebhooks, webhookSecretSchema } from '../../core/handoff/inbound';
import type { TicketingAdapter } from '../../core/types';
import { demoHelpdesk } from './demo';
import type { AnyHelpdeskDescriptor, HelpdeskContext } from './descriptor';
import { freshdeskHelpdesk } from './freshdesk';
import { jiraSmHelpdesk } from './jira-sm';
import { rtHelpdesk } from './rt';
import { servicenowHelpdesk } from './servicenow';
import { webhookHelpdesk } from './webhook';
import { zendeskHelpdesk } from './zendesk';

export { DemoTicketing } from './demo';
export { describeTicket } from './describe';
export {
  type AnyHelpdeskDescriptor,
  defineHelpdesk,
  type HelpdeskContext,
  type HelpdeskDescriptor,
} from './descriptor';
export { FreshdeskTicketing } from './freshdesk';
export { JiraSmTicketing } from './jira-sm';
export { RtTicketing } from './rt';
export { ServiceNowTicketing } from './servicenow';
export { WebhookTicketing } from './webhook';
export { ZendeskTicketing } from './zendesk';

export type HelpdeskRegistry = PluginRegistry<AnyHelpdeskDescriptor>;

/** Helpdesks by `ticketing.driver`: a new one is one folder plus one line here. */
export const helpdesks: HelpdeskRegistry = new PluginRegistry('helpdesk', 'ticketing', 'driver', [
  demoHelpdesk,
  zendeskHelpdesk,
  rtHelpdesk,
  freshdeskHelpdesk,
  jiraSmHelpdesk,
  servicenowHelpdesk,
  webhookHelpdesk,
]).withSectionKeys(ticketingSectionSchema);

/** Problems of a `ticketing:` section: the chosen helpdesk's block and each receiver's secret. */
export function ticketingIssues(
  section: PluginSection,
  registry: HelpdeskRegistry = helpdesks,
): ConfigIssue[] {
  return [...registry.issues(section), ...webhookSecretIssues(section, registry)];
}

function webhookSecretIssues(section: PluginSection, registry: HelpdeskRegistry): ConfigIssue[] {
  const webhooks = (section.webhooks ?? {}) as Record<string, unknown>;
  const receivers = signedWebhooks(registry.descriptors);
  // `webhooks` holds its own keys and one secret per receiver; anything else is a typo.
  const unknown = unknownKeyIssues(ticketingSectionSchema.unwrap().shape.webhooks, webhooks, {
    allow: receivers.map(({ secretKey }) => secretKey),
    path: ['webhooks'],
  });
  const secrets = receivers.flatMap(({ secretKey }) => {
    const parsed = webhookSecretSchema.safeParse(webhooks[secretKey]);
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({
          path: ['webhooks', secretKey, ...issue.path],
          message: issue.message,
        }));
  });
  return [...unknown, ...secrets];
}

/** The `ticketing:` section: its generic keys, the chosen driver's block and the receivers' secrets. */
export const ticketingConfigSchema = helpdesks.sectionSchema(ticketingSectionSchema, (section) =>
  webhookSecretIssues(section, helpdesks),
);

export type TicketingDeps = Pick<HelpdeskContext, 'db'>;

/** The configured helpdesk adapter; a config error names the key and the fix. */
export function createTicketing(
  config: TicketingConfig,
  deps: TicketingDeps,
  registry: HelpdeskRegistry = helpdesks,
): TicketingAdapter {
  const { descriptor, options } = registry.resolve(config);
  // The descriptor's own schema produced `options`.
  return descriptor.create(options as never, { ticketing: config, db: deps.db });
}
