import { z } from 'zod';
import { defineHelpdesk } from '../descriptor';
import { JiraSmTicketing } from './jira-sm';
import { checkJiraSmOnline } from './online';

export { type JiraSmOptions, JiraSmTicketing, jiraIdempotencyLabel } from './jira-sm';

const flag = z.union([z.boolean(), z.stringbool()]);
const ticketStatusSchema = z.enum(['new', 'open', 'pending', 'solved', 'closed']);

export const jiraSmOptionsSchema = z.object({
  /** https://<site>.atlassian.net */
  baseUrl: z.string().url(),
  /** Basic auth with an Atlassian account e-mail and API token. */
  email: z.string().min(1),
  apiToken: z.string().min(1),
  serviceDeskId: z.coerce.string().min(1),
  requestTypeId: z.coerce.string().min(1),
  /** Request type per hub category (orders, returns, billing, general); others use requestTypeId. */
  requestTypeByCategory: z.record(z.string(), z.coerce.string()).default({}),
  /** Send the hub's priority as a Jira priority name (the request type must show the Priority field). */
  sendPriority: flag.default(false),
  /** Transition names tried, in order, to reach a hub status; merged over the built-in names. */
  transitions: z.partialRecord(ticketStatusSchema, z.array(z.string().min(1))).default({}),
  /** Jira status name (any case) → hub status; merged over the built-in names. */
  statuses: z.record(z.string(), ticketStatusSchema).default({}),
});

/** Jira Service Management: customer requests through the Service Desk API. */
export const jiraSmHelpdesk = defineHelpdesk({
  name: 'jiraSm',
  options: jiraSmOptionsSchema,
  requires: 'set baseUrl, email, apiToken, serviceDeskId, requestTypeId',
  create: (options, { ticketing }) => new JiraSmTicketing({ ...options, timeoutMs: ticketing.timeoutMs }),
  online: checkJiraSmOnline,
});
