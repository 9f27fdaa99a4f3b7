import { type AuditSink, type OperatorActionRecord, recordOperatorAction } from './audit';

/** What operators do to their own access; `auditOperatorEvents` puts each on the audit trail. */
export type OperatorEvent =
  | { type: 'login'; method: 'password' | 'oidc'; operatorId: string; email: string; ip?: string }
  | { type: 'login_failed'; method: 'password' | 'oidc'; email?: string; reason: string; ip?: string }
  | { type: 'logout'; operatorId: string; email?: string; ip?: string }
  | { type: 'operator_created'; email: string; role: string; tenants: string[]; by: string }
  | { type: 'role_changed'; email: string; role: string; tenants: string[]; by: string }
  | { type: 'operator_disabled'; email: string; by: string };

export type OperatorEventHook = (event: OperatorEvent) => void | Promise<void>;

/** The audit trail's hook: every operator event appended as `operator.<action>`. */
export function auditOperatorEvents(sink: AuditSink): OperatorEventHook {
  return async (event) => {
    await recordOperatorAction(sink, auditRecordOf(event));
  };
}

function auditRecordOf(event: OperatorEvent): OperatorActionRecord {
  switch (event.type) {
    case 'login':
      return {
        actor: `operator:${event.operatorId}`,
        action: 'login',
        subject: `operator:${event.operatorId}`,
        details: { method: event.method, email: event.email, ip: event.ip },
      };
    case 'login_failed':
      return {
        actor: event.email ?? 'unknown',
        action: 'login.failed',
        details: { method: event.method, reason: event.reason, ip: event.ip },
      };
    case 'logout':
      return {
        actor: `operator:${event.operatorId}`,
        action: 'logout',
        subject: `operator:${event.operatorId}`,
        details: { ip: event.ip },
      };
    case 'operator_created':
      return {
        actor: event.by,
        action: 'operator.create',
        subject: `operator:${event.email}`,
        details: { role: event.role, tenants: event.tenants },
      };
    case 'role_changed':
      return {
        actor: event.by,
        action: 'role.change',
        subject: `operator:${event.email}`,
        details: { role: event.role, tenants: event.tenants },
      };
    case 'operator_disabled':
      return { actor: event.by, action: 'operator.disable', subject: `operator:${event.email}` };
  }
}
