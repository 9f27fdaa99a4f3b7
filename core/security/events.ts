import type { Caller } from './caller';

/**
 * What operators do to their own access: the audit trail's hook point. The lead wires
 * `onOperatorEvent` (AccessControl's option, and the CLI's) to the audit log; until then the
 * events are only logged.
 */
export type OperatorEvent =
  | { type: 'login'; method: 'password' | 'oidc'; operatorId: string; email: string; ip?: string }
  | { type: 'login_failed'; method: 'password' | 'oidc'; email?: string; reason: string; ip?: string }
  | { type: 'logout'; operatorId: string; email?: string; ip?: string }
  | { type: 'operator_created'; email: string; role: string; tenants: string[]; by: string }
  | { type: 'role_changed'; email: string; role: string; tenants: string[]; by: string }
  | { type: 'operator_disabled'; email: string; by: string };

export type OperatorEventHook = (event: OperatorEvent) => void | Promise<void>;

/** The actor named in an event made through the API or the CLI. */
export const actorOf = (caller: Caller | undefined): string =>
  caller ? `${caller.kind}:${caller.email ?? caller.id}` : 'cli';
