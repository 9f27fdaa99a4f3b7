import type { HubConfig } from '../core/config/schema';
import type { OperatorEventHook } from '../core/security/events';
import { AccessControl } from '../core/security/guard';
import { OidcLogin } from '../core/security/oidc';
import { OperatorStore } from '../core/security/operator-store';
import type { SessionRoutesOptions } from '../core/security/routes';
import type { KyselyStore } from '../core/store';

/**
 * Operators, roles and sign-in for the HTTP side: the access guard over the operator table, and
 * single sign-on when `security.oidc` is set. `onOperatorEvent` is where the audit trail hooks in.
 */
export function createSecurity(
  config: HubConfig,
  store: KyselyStore,
  onOperatorEvent?: OperatorEventHook,
): SessionRoutesOptions {
  const operators = new OperatorStore(store.db);
  const access = new AccessControl({ operators, security: config.security });
  const { oidc } = config.security;
  return {
    access,
    ...(oidc ? { oidc: new OidcLogin(oidc, operators) } : {}),
    ...(onOperatorEvent ? { onOperatorEvent } : {}),
  };
}
