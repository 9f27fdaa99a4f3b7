import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import type { ApiKeyStore } from '../../core/security/api-keys';
import type { KyselyStore } from '../../core/store';
import { recordCliActionIn } from './audit';

/**
 * `hub keys rotate`: the data keys of encryption at rest (core/privacy/at-rest.ts).
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
    .description('API keys for the REST channel (per tenant, hashed at rest); `rotate`: the data keys');

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

  keys
    .command('rotate')
    .description(
      'Re-wrap every sealed record under the active data key and seal records stored in clear; online, batch by batch',
    )
    .option('--new-key', 'first add a fresh key to the key file and make it active (not with HUB_DATA_KEYS)')
    .option('--drop-old', 'afterwards remove from the key file the keys no record uses any more')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { newKey?: boolean; dropOld?: boolean; config?: string }) => {
      const config = await loadConfig(options.config);
      const dataKeys = await import('../../core/privacy/data-keys');
      const fromEnv = dataKeys.dataKeysFromEnv();
      if (fromEnv && (options.newKey || options.dropOld)) {
        console.error(
          `hub: the data keys come from ${dataKeys.DATA_KEYS_ENV}: add the new key there, set ${dataKeys.DATA_KEY_ACTIVE_ENV} to its id on every hub process, then run hub keys rotate; remove the old key from the environment once it reports 0 records under it`,
        );
        process.exitCode = 1;
        return;
      }
      const keyFile = config.privacy.atRest.keyFile;
      if (options.newKey) console.log(`new active data key ${await dataKeys.addFileKey(keyFile)}`);
      const { createStore } = await import('../../core/store');
      const { rotateDataKeys } = await import('../../core/store/key-rotation');
      const store = await createStore(config);
      let report: Awaited<ReturnType<typeof rotateDataKeys>>;
      try {
        report = await rotateDataKeys(store.db, store.atRest);
        await recordCliActionIn(store, {
          action: 'data_keys.rotate',
          subject: `data-key:${report.activeKeyId}`,
          details: { rewrapped: report.rewrapped, sealed: report.sealed, hashed: report.hashed },
        });
      } finally {
        await store.close();
      }
      console.log(
        `active data key ${report.activeKeyId}: ${report.rewrapped} values re-wrapped, ${report.sealed} stored in clear now sealed, ${report.hashed} look-up keys in clear now hashed`,
      );
      for (const [id, count] of Object.entries(report.byKey)) console.log(`  ${id}  ${count} values`);
      if (options.dropOld && !fromEnv) {
        const dropped = await dataKeys.dropFileKeys(keyFile, (id) => (report.byKey[id] ?? 0) > 0);
        console.log(
          dropped.length > 0 ? `removed unused keys: ${dropped.join(', ')}` : 'no unused keys to remove',
        );
      }
    });
}
