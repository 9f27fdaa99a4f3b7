import type { FastifyRequest } from 'fastify';
import { ADMIN_TOKEN_ACTOR } from './audit';
import type { Role, RouteAccess } from './permissions';

/** Who is calling an admin or agent route, as the guard established it. */
export interface Caller {
  /** An operator's session; a machine token from `security.tokens`; the bootstrap HUB_ADMIN_TOKEN or loopback. */
  kind: 'operator' | 'token' | 'bootstrap';
  /** The operator's id, the token's name, or `bootstrap`. */
  id: string;
  /** Shown to customers with an agent's reply: the operator's display name. */
  name: string;
  email?: string;
  role: Role;
  tenants: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the access guard (core/security/guard.ts) on every route it let through with an identity. */
    caller?: Caller;
  }
  interface FastifyContextConfig {
    /** The permission this route needs (core/security/permissions.ts), or `public`. */
    permission?: RouteAccess;
    /** The tenant the request acts on, where the route has one: checked against the caller's scope. */
    tenantOf?: (request: FastifyRequest) => string | undefined;
  }
}

export const callerOf = (request: FastifyRequest): Caller | undefined => request.caller;

/**
 * Who an audit record names for a request: `operator:<id>` for a signed-in operator, `token:<name>`
 * for a machine token, the bootstrap admin token otherwise.
 */
export function actorOf(request: FastifyRequest): string {
  return actorOfCaller(request.caller);
}

export function actorOfCaller(caller: Caller | undefined): string {
  return caller && caller.kind !== 'bootstrap' ? `${caller.kind}:${caller.id}` : ADMIN_TOKEN_ACTOR;
}
