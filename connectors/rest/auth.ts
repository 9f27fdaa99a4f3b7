import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChannelContext } from '../../core/channels/types';
import { isLoopbackAddress } from '../../core/http/admin-auth';
import { bearerToken } from '../../core/security/api-keys';
import type { RestOptions } from './options';

/** Who sends a REST request: a key's tenant, or (auth: none, from this machine) the channel's own. */
export type RestCaller = { kind: 'key'; keyId: string; tenant: string } | { kind: 'local'; tenant: string };

/**
 * The caller of a request, or undefined after answering 401 `rest.unauthenticated`. A key that is
 * sent must be valid even where none is needed, so a revoked key never falls back to open access.
 */
export async function authenticateRest(
  context: ChannelContext,
  options: RestOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<RestCaller | undefined> {
  const presented = bearerToken(request.headers.authorization);
  if (presented) {
    const principal = await context.access?.apiKeys.authenticate(presented);
    if (principal) return { kind: 'key', keyId: principal.id, tenant: principal.tenant };
    return refuse(reply, 'The API key is unknown or revoked. Create one with `hub keys create`.');
  }
  if (options.auth === 'none' && isLoopbackAddress(request.socket.remoteAddress)) {
    return { kind: 'local', tenant: context.config.tenant };
  }
  return refuse(
    reply,
    options.auth === 'none'
      ? 'Without a key this channel (auth: none) answers only clients on the hub machine. Send Authorization: Bearer <key> (hub keys create --tenant <t> --name <n>).'
      : 'Send Authorization: Bearer <key>; create one with `hub keys create --tenant <t> --name <n>` or POST /admin/api-keys.',
  );
}

function refuse(reply: FastifyReply, message: string): undefined {
  void reply
    .header('www-authenticate', 'Bearer realm="hub-rest"')
    .code(401)
    .send({ error: { code: 'rest.unauthenticated', message } });
  return undefined;
}
