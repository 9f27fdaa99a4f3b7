import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import { CLI_ACTOR, type OperatorActionRecord, recordOperatorAction } from '../../core/security/audit';
import type { KyselyStore } from '../../core/store';
import { HubError } from '../../core/types';

type ConfigLoader = (file: string | undefined) => Promise<HubConfig>;

const DAY_MS = 86_400_000;

/** Opens the store for one command and closes it whatever the work does. */
export async function withStore<T>(config: HubConfig, work: (store: KyselyStore) => Promise<T>): Promise<T> {
  const { createStore } = await import('../../core/store');
  const store = await createStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** A command run on the server, on record under `cli` with the OS user who ran it. */
export function recordCliActionIn(
  store: KyselyStore,
  record: Omit<OperatorActionRecord, 'actor'>,
): Promise<{ seq: number }> {
  return recordOperatorAction(store, {
    ...record,
    actor: CLI_ACTOR,
    details: { ...record.details, user: userInfo().username },
  });
}

/** The same, opening the configured database for it (commands that have no store open). */
export function recordCliAction(
  config: HubConfig,
  record: Omit<OperatorActionRecord, 'actor'>,
): Promise<{ seq: number }> {
  return withStore(config, (store) => recordCliActionIn(store, record));
}

/** Deletes records older than the retention, leaving a signed checkpoint; the purge itself is recorded. */
export async function purgeAudit(store: KyselyStore, retentionDays: number, actor = CLI_ACTOR) {
  const before = new Date(Date.now() - retentionDays * DAY_MS).toISOString();
  const result = await store.auditLog.purge(before);
  if (result.purged > 0) {
    await recordOperatorAction(store, {
      actor,
      action: 'audit.purge',
      subject: 'audit',
      details: { before, purged: result.purged, checkpointSeq: result.checkpoint?.seq },
    });
  }
  return { before, ...result };
}

/** `hub audit verify | export | purge`: the tamper-evident audit trail. */
export function registerAuditCommands(program: Command, loadConfig: ConfigLoader): void {
  const audit = program.command('audit').description('The tamper-evident audit trail');

  audit
    .command('verify')
    .description(
      'Chain the pending turn records, then check the hash chain; exit 1 at the first edited, deleted, reordered or forged record',
    )
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { config?: string }) => {
      const config = await loadConfig(options.config);
      // The turns' records wait pending for the workers' sealer: sealed here too, so a stopped hub verifies whole.
      const result = await withStore(config, async (store) => {
        await store.auditLog.seal();
        return store.auditLog.verify();
      });
      if (result.ok) {
        const redacted = result.redacted ? ` (${result.redacted} redacted by an erasure)` : '';
        console.log(
          `audit chain ok: ${result.checked} record(s) verified from record ${result.from + 1}${redacted}`,
        );
        return;
      }
      console.error(
        `audit chain broken at record ${result.fault?.seq} (${result.fault?.reason}): ${result.fault?.message}; ${result.checked} record(s) before it verified`,
      );
      process.exitCode = 1;
    });

  audit
    .command('export')
    .description('Print records in chain order as JSON lines, for compliance')
    .requiredOption('--since <time>', 'ISO-8601: records at or after this time')
    .option('--until <time>', 'ISO-8601: records before this time')
    .option('--format <format>', 'jsonl (one record a line)', 'jsonl')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { since: string; until?: string; format: string; config?: string }) => {
      if (options.format !== 'jsonl') {
        throw new HubError(
          'audit.format_unknown',
          `Unknown format "${options.format}". Fix: use --format jsonl.`,
        );
      }
      for (const [name, value] of [
        ['--since', options.since] as const,
        ['--until', options.until] as const,
      ]) {
        if (value !== undefined && Number.isNaN(Date.parse(value))) {
          throw new HubError(
            'audit.time_invalid',
            `${name} ${value} is not a time. Fix: use ISO-8601, e.g. 2026-01-31T00:00:00Z.`,
          );
        }
      }
      const config = await loadConfig(options.config);
      await withStore(config, async (store) => {
        const window = { since: options.since, ...(options.until ? { until: options.until } : {}) };
        // Pending turn records are chained first, so the export has them in chain order.
        await store.auditLog.seal();
        for await (const record of store.auditLog.records(window)) {
          process.stdout.write(`${JSON.stringify(record)}\n`);
        }
      });
    });

  audit
    .command('purge')
    .description('Delete records older than audit.retentionDays (or --days), keeping the chain verifiable')
    .option('--days <days>', 'keep this many days instead of audit.retentionDays')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { days?: string; config?: string }) => {
      const config = await loadConfig(options.config);
      const days = options.days === undefined ? config.audit.retentionDays : Number(options.days);
      if (days === undefined || !(days > 0)) {
        throw new HubError(
          'audit.retention_unset',
          'No retention to purge by. Fix: set audit.retentionDays in the config, or pass --days <positive number>.',
        );
      }
      const result = await withStore(config, (store) => purgeAudit(store, days));
      console.log(
        result.purged > 0
          ? `purged ${result.purged} record(s) before ${result.before}; the chain now starts after record ${result.checkpoint?.seq}`
          : `nothing older than ${result.before}`,
      );
    });
}
