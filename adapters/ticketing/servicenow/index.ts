import { z } from 'zod';
import { httpAuthSchema } from '../../auth';
import { defineHelpdesk } from '../descriptor';
import { checkServiceNowOnline } from './online';
import { ServiceNowTicketing } from './servicenow';

export { type ServiceNowOptions, ServiceNowTicketing } from './servicenow';

export const servicenowOptionsSchema = z
  .object({
    /** https://<instance>.service-now.com */
    instanceUrl: z.string().url(),
    /** basic (an integration user) or oauth2 (client credentials, tokenUrl .../oauth_token.do). */
    auth: httpAuthSchema,
    table: z.string().regex(/^\w+$/, 'table is a table name such as incident').default('incident'),
    /** sys_id of the caller the incidents are filed for (an integration user); the customer is in the description. */
    callerId: z.string().optional(),
    assignmentGroup: z.string().optional(),
    contactType: z.string().optional(),
    /** ServiceNow category per hub category (orders, returns, billing, general); default "inquiry". */
    categoryByCategory: z.record(z.string(), z.string()).default({}),
    /** close_code written when the hub resolves or closes an incident. */
    closeCode: z.string().default('Solution provided'),
  })
  .refine((sn) => sn.auth.type !== 'none', {
    message: 'ticketing.servicenow.auth is missing; set type basic (username, password) or oauth2',
    path: ['auth'],
  });

export const servicenowHelpdesk = defineHelpdesk({
  name: 'servicenow',
  options: servicenowOptionsSchema,
  requires: 'set instanceUrl and auth (basic or oauth2)',
  create: (options, { ticketing }) => new ServiceNowTicketing({ ...options, timeoutMs: ticketing.timeoutMs }),
  online: checkServiceNowOnline,
});
