import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import { HubError } from '../../core/types';
import { requireFolderOf } from './inputs';

/** `hub training export --out file.jsonl [--since 2026-01-01] [--idle-minutes 60] [--system text]` */
export function registerTrainingCommands(
  program: Command,
  withConfig: (file?: string) => Promise<HubConfig>,
): void {
  const training = program.command('training').description('Training data for the LoRA fine-tuning recipe');
  training
    .command('export')
    .description(
      'Export resolved conversations as chat-format JSONL with phones, e-mails and order ids masked',
    )
    .requiredOption('--out <file>', 'JSONL file to write')
    .option('--since <date>', 'only conversations active at or after this date (ISO 8601)')
    .option('--idle-minutes <n>', 'a conversation idle this long counts as finished', '60')
    .option('--system <text>', 'system message to put first in every example')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(
      async (o: { out: string; since?: string; idleMinutes: string; system?: string; config?: string }) => {
        const since = o.since ? new Date(o.since) : undefined;
        if (since && Number.isNaN(since.getTime())) {
          throw new HubError(
            'config.invalid',
            `--since ${o.since} is not a date (use ISO 8601, e.g. 2026-01-31)`,
          );
        }
        requireFolderOf(o.out, 'pass --out <file> in a folder that exists (e.g. --out training.jsonl)');
        const idleMinutes = Number(o.idleMinutes);
        if (!(idleMinutes >= 0)) throw new HubError('config.invalid', '--idle-minutes must be a number ≥ 0');
        const config = await withConfig(o.config);
        const { createStore } = await import('../../core/store');
        const { exportTrainingSet } = await import('../../core/training/export');
        const store = await createStore(config);
        try {
          const count = await exportTrainingSet(store, o.out, { since, idleMinutes, system: o.system });
          console.log(`wrote ${count} conversation(s) to ${o.out}`);
        } finally {
          await store.close();
        }
      },
    );
}
