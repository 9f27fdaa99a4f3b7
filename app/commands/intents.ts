import type { Command } from 'commander';
import { requirePath } from './inputs';

/** Where the shared BANKING77 split lives when the repository sits beside `shared/`. */
export const DEFAULT_EVAL_DATA = '../shared/data/banking77/train.csv';

/** `hub intents eval`: k-fold cross-validation of the in-process classifier on a `text,category` CSV. */
export function registerIntentCommands(program: Command): void {
  const intents = program.command('intents').description('Intent recognition tools');
  intents
    .command('eval')
    .description('Cross-validate the in-process intent classifier (accuracy, macro-F1, latency)')
    .option('--data <file>', 'CSV with columns text,category', DEFAULT_EVAL_DATA)
    .option('--folds <n>', 'number of stratified folds', '5')
    .option('--seed <n>', 'fold assignment seed', '7')
    .option('--threshold <p>', 'confidence threshold to report coverage at', '0.6')
    .option('--limit <n>', 'use only the first n rows (quick runs)')
    .option('--epochs <n>', 'most training epochs (default 12)')
    .option(
      '--tolerance <x>',
      'stop when an epoch lowers the training loss by less than this fraction (default 0: never)',
    )
    .option('--json', 'print the report as JSON')
    .action(
      async (options: {
        data: string;
        folds: string;
        seed: string;
        threshold: string;
        limit?: string;
        epochs?: string;
        tolerance?: string;
        json?: boolean;
      }) => {
        const { crossValidate, formatReport, loadLabelledCsv } = await import(
          '../../core/dialog/intent/eval'
        );
        const data = requirePath(
          options.data,
          options.data === DEFAULT_EVAL_DATA
            ? 'the default intent data: BANKING77 beside the repository'
            : 'the intent data',
          'pass --data <file>, a CSV with columns text,category (e.g. --data banking77/train.csv)',
        );
        let examples = await loadLabelledCsv(data);
        if (options.limit) examples = examples.slice(0, Number(options.limit));
        const report = crossValidate(examples, {
          folds: Number(options.folds),
          seed: Number(options.seed),
          threshold: Number(options.threshold),
          classifier: {
            ...(options.epochs ? { epochs: Number(options.epochs) } : {}),
            ...(options.tolerance ? { tolerance: Number(options.tolerance) } : {}),
          },
        });
        console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
      },
    );
}
