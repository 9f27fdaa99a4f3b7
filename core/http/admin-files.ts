import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Connector, FetchedFile } from '../channels/types';
import { errors } from '../metrics';
import { type AuditSink, recordOperatorAction } from '../security/audit';
import { actorOf } from '../security/caller';
import { HubError } from '../types';
import { requireAdmin } from './admin-auth';
import { errorResponse, type RouteDoc } from './route-doc';

const FILE_DOC: RouteDoc = {
  summary: 'Download a file a customer sent, through its channel (the platform token stays in the hub)',
  tags: ['admin'],
  admin: true,
  params: z.object({
    channel: z.string().describe('The channel id of hub.yaml'),
    fileId: z.string().describe("The attachment's fileId from the event"),
  }),
  responses: {
    200: {
      description: 'The bytes, as an attachment',
      contentType: 'application/octet-stream',
      headers: [{ name: 'content-disposition', description: 'attachment; filename="<name>"' }],
    },
    404: errorResponse('admin.channel_not_found, admin.files_unsupported, or file.not_found'),
    413: errorResponse("The file is larger than the channel's maxFileBytes"),
    502: errorResponse('The platform refused the download; the message says how to fix it'),
  },
};

/**
 * `GET /admin/channels/<id>/files/<fileId>`: the bytes of a file a customer sent, fetched from the
 * platform through the channel's connector (its token never leaves the hub). For operators and
 * workers; guarded by the admin rule in ./admin-auth.ts.
 */
export function registerAdminFileRoute(
  app: FastifyInstance,
  connectors: Connector[],
  {
    audit,
    tenantOfChannel = () => undefined,
  }: { audit?: AuditSink; tenantOfChannel?: (channel: string) => string | undefined } = {},
): void {
  const byId = new Map(connectors.map((connector) => [connector.id, connector]));
  app.get<{ Params: { channel: string; fileId: string } }>(
    '/admin/channels/:channel/files/:fileId',
    {
      onRequest: requireAdmin,
      config: {
        permission: 'conversations.files',
        openapi: FILE_DOC,
        tenantOf: (request) => tenantOfChannel((request.params as { channel: string }).channel),
      },
    },
    async (request, reply) => {
      const connector = byId.get(request.params.channel);
      if (!connector) {
        throw new HubError('admin.channel_not_found', `No channel "${request.params.channel}" in this hub`, {
          status: 404,
        });
      }
      if (!connector.fetchFile) {
        throw new HubError(
          'admin.files_unsupported',
          `Channel "${connector.id}" (${connector.type}) cannot fetch files`,
          { status: 404 },
        );
      }
      let file: FetchedFile;
      try {
        file = await connector.fetchFile({ fileId: request.params.fileId });
      } catch (error) {
        // The global handler hides 5xx messages; a platform's refusal (with its fix) is the operator's to see.
        if (!(error instanceof HubError) || error.status !== 502) throw error;
        errors.inc({ stage: 'http', code: error.code });
        request.log.warn({ code: error.code, channel: connector.id }, 'file fetch refused by the platform');
        return reply.code(502).send({ error: { code: error.code, message: error.message } });
      }
      const name = (file.name ?? request.params.fileId).replace(/[^\w.-]+/g, '_');
      // On record before a byte leaves: a download that cannot be recorded does not happen.
      if (audit) {
        await recordOperatorAction(audit, {
          actor: actorOf(request),
          action: 'file.download',
          subject: `file:${connector.id}:${request.params.fileId}`,
          details: { channel: connector.id, name, size: file.size, mimeType: file.mimeType, ip: request.ip },
        });
      }
      return reply
        .header('content-type', file.mimeType)
        .header('content-length', file.size)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(file.body);
    },
  );
}
