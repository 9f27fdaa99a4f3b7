import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../security/caller';
import { ALL_TENANTS } from '../security/permissions';
import { parseCustomerTarget } from '../store/customer-lookup';
import { eraseOnRecord } from '../store/data-protection';
import type { KyselyStore } from '../store/kysely-store';
import type { StateStore } from '../types';
import { requireAdmin } from './admin-auth';
import { errorResponse, type RouteDoc } from './route-doc';

const countsSchema = z.object({
  customers: z.number().int(),
  identities: z.number().int(),
  conversations: z.number().int(),
  messages: z.number().int(),
  ticketRequests: z.number().int(),
  ticketComments: z.number().int(),
  demoTickets: z.number().int(),
  rejectedWebhooks: z.number().int(),
  dialogStates: z.number().int(),
  auditRecords: z.number().int().describe('Audit records about the erased conversations, redacted'),
});

export const customerEraseDoc: RouteDoc = {
  summary: 'Right to be forgotten: delete everything the hub keeps about one customer',
  description:
    'The same as `hub customer erase`. The id is the customer uuid or `<channel>:<platform user id>` (URL-encoded). Messages, conversations, identities, ticket requests and comments, the dialog state and the demo helpdesk copy go; audit records about the customer are redacted so the chain still verifies. Tickets a helpdesk outside the hub holds are listed for deletion there. Erasing twice answers zeros. Needs an admin whose scope is every tenant.',
  tags: ['admin'],
  admin: true,
  params: z.object({ id: z.string().describe('Customer uuid, or <channel>:<platform user id>') }),
  query: z.object({ tenant: z.string().optional().describe('With <channel>:<user id>: only this tenant') }),
  responses: {
    200: {
      description: 'What was erased; customerIds is empty when nothing was left',
      schema: z.object({
        customerIds: z.array(z.string()),
        counts: countsSchema,
        sharedConversations: z.number().int(),
        externalTickets: z.array(
          z.object({ adapter: z.string(), externalId: z.string(), url: z.string().optional() }),
        ),
      }),
    },
    400: errorResponse('customers.id_invalid: neither a uuid nor <channel>:<user id>'),
    403: errorResponse('customers.scope: the caller is not scoped to every tenant'),
  },
};

/** `DELETE /admin/customers/<id>` for admins (customers.erase), on record with the operator as actor. */
export function registerCustomerEraseRoute(
  app: FastifyInstance,
  store: KyselyStore,
  states?: StateStore,
): void {
  app.delete<{ Params: { id: string }; Querystring: { tenant?: string } }>(
    '/admin/customers/:id',
    { onRequest: requireAdmin, config: { permission: 'customers.erase', openapi: customerEraseDoc } },
    async (request, reply) => {
      const caller = request.caller;
      // An erasure crosses tenants (one customer, every conversation): a tenant-scoped admin may not.
      if (caller && !caller.tenants.includes(ALL_TENANTS)) {
        return reply.code(403).send({
          error: {
            code: 'customers.scope',
            message: 'Erasing a customer needs an admin scoped to every tenant.',
          },
        });
      }
      const tenant = typeof request.query.tenant === 'string' ? request.query.tenant : undefined;
      const target = parseCustomerTarget(request.params.id, tenant);
      if (!target) {
        return reply.code(400).send({
          error: {
            code: 'customers.id_invalid',
            message: 'Expected the customer uuid, or <channel>:<platform user id>.',
          },
        });
      }
      return eraseOnRecord(store, target, actorOf(request), states ? { states } : {});
    },
  );
}
