import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../http/admin-auth';
import { modelResetDoc, modelsStatusDoc } from './admin-doc';
import type { CanaryControl } from './canary';

/**
 * The canary release for operators (`hub models status` / `hub models reset`), guarded by the admin
 * rule of core/http/admin-auth.ts:
 *
 * - `GET /admin/models`: every model, its versions, configured and effective split, the window's
 *   request/error/fallback counts and the rollback, read from the state the routers share;
 * - `POST /admin/models/<model>/reset` (body `{}`): lift a rollback; the canary gets its share again.
 */
export function registerModelAdminRoutes(app: FastifyInstance, canary: CanaryControl): void {
  app.get(
    '/admin/models',
    { onRequest: requireAdmin, config: { permission: 'models.read', openapi: modelsStatusDoc } },
    async () => canary.status(),
  );
  app.post<{ Params: { model: string } }>(
    '/admin/models/:model/reset',
    { onRequest: requireAdmin, config: { permission: 'models.manage', openapi: modelResetDoc } },
    async (request, reply) => {
      const { model } = request.params;
      const status = await canary.status();
      const entry = status.models.find((m) => m.model === model);
      if (!entry?.versions.some((v) => v.canary)) {
        const canaried = status.models.filter((m) => m.versions.some((v) => v.canary)).map((m) => m.model);
        // Answered here, not thrown: the operator's typo and the names to use are the point of the reply.
        return reply.code(404).send({
          error: {
            code: 'admin.model_not_found',
            message: `No model "${model}" with a canary in llm.models; models with one: ${canaried.join(', ') || 'none'}`,
          },
        });
      }
      return { model, reset: await canary.reset(model) };
    },
  );
}
