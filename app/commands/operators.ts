import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import type { OperatorEventHook } from '../../core/security/events';
import type { Operator } from '../../core/security/operator-store';
import { HubError } from '../../core/types';

/** Where a new operator's password comes from: never the command line, which `ps` and shell history show. */
export const OPERATOR_PASSWORD_ENV = 'HUB_OPERATOR_PASSWORD';

const ROLE_HELP = 'admin | supervisor | agent | analyst';

const line = (o: Operator) =>
  `${o.email}  ${o.role}  tenants=${o.tenants.join(',')}  "${o.displayName}"${o.disabled ? '  DISABLED' : ''}`;

const tenantList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

/**
 * `hub operators create | list | set-role | disable`: operator accounts in the hub's database.
 * A password (optional: single sign-on operators need none) is read from HUB_OPERATOR_PASSWORD.
 * Every change is on the audit trail (actor `cli`).
 */
export function registerOperatorCommands(
  program: Command,
  loadConfig: (file: string | undefined) => Promise<HubConfig>,
): void {
  const operators = program.command('operators').description('Operator accounts, roles and tenant scopes');

  const withOperators = async <T>(
    file: string | undefined,
    work: (
      store: import('../../core/security/operator-store').OperatorStore,
      audit: OperatorEventHook,
    ) => Promise<T>,
  ) => {
    const config = await loadConfig(file);
    const { createStore } = await import('../../core/store');
    const { OperatorStore } = await import('../../core/security/operator-store');
    const { auditOperatorEvents } = await import('../../core/security/events');
    const store = await createStore(config);
    try {
      return await work(new OperatorStore(store.db), auditOperatorEvents(store));
    } finally {
      await store.close();
    }
  };
  const role = async (value: string) => {
    const { isRole } = await import('../../core/security/permissions');
    if (!isRole(value)) throw new HubError('operators.bad_role', `--role "${value}": use ${ROLE_HELP}`);
    return value;
  };

  operators
    .command('create')
    .description(`Create an operator; the password, if any, from ${OPERATOR_PASSWORD_ENV}`)
    .requiredOption('--email <email>', 'e-mail address or user name (the login)')
    .requiredOption('--role <role>', ROLE_HELP)
    .option('--tenants <list>', 'comma-separated tenants, or * for all (admins always get *)', 'default')
    .option('--name <name>', 'display name shown to customers (default: the e-mail before the @)')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(
      async (options: { email: string; role: string; tenants: string; name?: string; config?: string }) => {
        const password = process.env[OPERATOR_PASSWORD_ENV] || undefined;
        const created = await withOperators(options.config, async (store, audit) => {
          const operator = await store.create({
            email: options.email,
            role: await role(options.role),
            tenants: tenantList(options.tenants),
            ...(options.name ? { displayName: options.name } : {}),
            ...(password ? { password } : {}),
          });
          await audit({
            type: 'operator_created',
            email: operator.email,
            role: operator.role,
            tenants: operator.tenants,
            by: 'cli',
          });
          return operator;
        });
        console.log(`created ${line(created)}${password ? '' : '  (no password: single sign-on only)'}`);
      },
    );

  operators
    .command('list')
    .description('List operators')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { config?: string }) => {
      const all = await withOperators(options.config, (store) => store.list());
      if (all.length === 0) console.log('no operators');
      for (const o of all) console.log(line(o));
    });

  operators
    .command('set-role')
    .description("Change an operator's role (and tenants); their sessions end")
    .requiredOption('--email <email>', 'the operator')
    .requiredOption('--role <role>', ROLE_HELP)
    .option('--tenants <list>', 'comma-separated tenants, or * for all')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { email: string; role: string; tenants?: string; config?: string }) => {
      const changed = await withOperators(options.config, async (store, audit) => {
        const operator = await store.setRole(
          options.email,
          await role(options.role),
          options.tenants === undefined ? undefined : tenantList(options.tenants),
        );
        await audit({
          type: 'role_changed',
          email: operator.email,
          role: operator.role,
          tenants: operator.tenants,
          by: 'cli',
        });
        return operator;
      });
      console.log(`changed ${line(changed)}`);
    });

  operators
    .command('disable')
    .description('Disable an operator; their sessions end at once')
    .requiredOption('--email <email>', 'the operator')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { email: string; config?: string }) => {
      const disabled = await withOperators(options.config, async (store, audit) => {
        const operator = await store.disable(options.email);
        await audit({ type: 'operator_disabled', email: operator.email, by: 'cli' });
        return operator;
      });
      console.log(`disabled ${line(disabled)}`);
    });
}
