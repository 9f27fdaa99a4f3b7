import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../http/admin-auth';
import { issueLines } from '../resilience/zod-issues';
import type { ApiKeyStore } from './api-keys';
import { apiKeyCreateDoc, apiKeyCreateSchema, apiKeyListDoc, apiKeyRevokeDoc } from './api-keys-doc';
import { type AuditSink, recordOperatorAction } from './audit';
import { actorOf } from './caller';

/**
 * The REST channel's API keys for operators (`hub keys` does the same on the database), under the
 * admin rule of core/http/admin-auth.ts: `POST /admin/api-keys` `{tenant, name}` answers the key
 * once; `GET /admin/api-keys` lists them without secrets; `DELETE /admin/api-keys/<id>` revokes.
 */
export function registerApiKeyAdminRoutes(app: FastifyInstance, keys: ApiKeyStore, audit?: AuditSink): void {
  app.post(
    '/admin/api-keys',
    { onRequest: requireAdmin, config: { permission: 'operators.manage', openapi: apiKeyCreateDoc } },
    async (request, reply) => {
      const parsed = apiKeyCreateSchema.safeParse(request.body);
      if (!parsed.success) {
        return reply.code(400).send({
          error: {
            code: 'api_keys.invalid',
            message: 'Expected a JSON body {"tenant": string, "name": string}',
            issues: issueLines(parsed.error, '').map(({ path, message }) => ({ path, message })),
          },
        });
      }
      const created = await keys.create(parsed.data.tenant, parsed.data.name);
      if (audit) {
        await recordOperatorAction(audit, {
          actor: actorOf(request),
          action: 'key.create',
          subject: `key:${created.id}`,
          tenant: created.tenant,
          details: { name: created.name },
        });
      }
      return reply.code(201).send(created);
    },
  );
  app.get(
    '/admin/api-keys',
    { onRequest: requireAdmin, config: { permission: 'operators.manage', openapi: apiKeyListDoc } },
    async () => keys.list(),
  );
  app.delete<{ Params: { id: string } }>(
    '/admin/api-keys/:id',
    { onRequest: requireAdmin, config: { permission: 'operators.manage', openapi: apiKeyRevokeDoc } },
    async (request, reply) => {
      const { id } = request.params;
      if (await keys.revoke(id)) {
        if (audit) {
          await recordOperatorAction(audit, {
            actor: actorOf(request),
            action: 'key.revoke',
            subject: `key:${id}`,
          });
        }
        return { id, revoked: true as const };
      }
      return reply.code(404).send({
        error: {
          code: 'api_keys.not_found',
          message: `No active API key "${id}"; hub keys list shows them.`,
        },
      });
    },
  );
}
