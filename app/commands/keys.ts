import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import type { ApiKeyStore } from '../../core/security/api-keys';
import type { KyselyStore } from '../../core/store';
import { recordCliActionIn } from './audit';

/**
 * `hub keys create | list | revoke`: the REST channel's API keys, on the hub's database directly
 * (`POST/GET/DELETE /admin/api-keys` do the same through a running hub). The embedded database is
 * one process's: create the first key before `hub start`, or use the admin API while it runs.
 */
export function registerKeyCommands(
  program: Command,
  loadConfig: (file: string | undefined) => Promise<HubConfig>,
): void {
  const keys = program
    .command('keys')
    .description('API keys for the REST channel (per tenant, hashed at rest)');

  const withKeys = async <T>(
    file: string | undefined,
    work: (keys: ApiKeyStore, store: KyselyStore) => Promise<T>,
  ) => {
    const config = await loadConfig(file);
    const { createStore } = await import('../../core/store');
    const { ApiKeyStore } = await import('../../core/security/api-keys');
    const store = await createStore(config);
    try {
      return await work(new ApiKeyStore(store.db), store);
    } finally {
      await store.close();
    }
  };

  keys
    .command('create')
    .description('Create a key; it is printed once, the hub keeps only its hash')
    .requiredOption('--tenant <tenant>', 'the tenant the key speaks for')
    .requiredOption('--name <name>', 'who uses it, e.g. "shop backend"')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { tenant: string; name: string; config?: string }) => {
      const created = await withKeys(options.config, async (keys, store) => {
        const key = await keys.create(options.tenant, options.name);
        await recordCliActionIn(store, {
          action: 'key.create',
          subject: `key:${key.id}`,
          tenant: key.tenant,
          details: { name: key.name },
        });
        return key;
      });
      console.log(
        `created key ${created.id} for tenant ${created.tenant} (${created.name}); store it now, it is not shown again:`,
      );
      console.log(created.key);
    });

  keys
    .command('list')
    .description('Every key: id, tenant, name, created, revoked; never a secret')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { config?: string }) => {
      const all = await withKeys(options.config, (store) => store.list());
      if (all.length === 0)
        console.log('no API keys; create one with hub keys create --tenant <t> --name <n>');
      for (const key of all) {
        const state = key.revokedAt ? `revoked ${key.revokedAt}` : 'active';
        console.log(`${key.id}  ${key.tenant}  ${key.createdAt}  ${state}  ${key.name}`);
      }
    });

  keys
    .command('revoke')
    .description('Revoke a key: every request with it is refused from now on')
    .argument('<id>', 'the key id (hub keys list)')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (id: string, options: { config?: string }) => {
      const revoked = await withKeys(options.config, async (keys, store) => {
        const done = await keys.revoke(id);
        if (done) await recordCliActionIn(store, { action: 'key.revoke', subject: `key:${id}` });
        return done;
      });
      if (!revoked) {
        console.error(`hub: no active key ${id}; hub keys list shows them`);
        process.exitCode = 1;
        return;
      }
      console.log(`revoked ${id}`);
    });
}
