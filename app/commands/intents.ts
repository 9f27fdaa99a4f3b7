import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import { HubError } from '../../core/types';
import { withStore } from './audit';
import { requirePath } from './inputs';

type ConfigLoader = (file: string | undefined) => Promise<HubConfig>;

/** Where the shared BANKING77 split lives when the repository sits beside `shared/`. */
export const DEFAULT_EVAL_DATA = '../shared/data/banking77/train.csv';

interface EvalOptions {
  data: string;
  validation?: string;
  oosLabel?: string;
  oosShare: string;
  folds?: string;
  calibrationFolds: string;
  seed: string;
  threshold: string;
  targetPrecision: string;
  limit?: string;
  epochs?: string;
  tolerance?: string;
  model?: string;
  json?: boolean;
  fromConfig?: boolean;
  record?: boolean;
  config?: string;
}

/**
 * `hub intents eval`: k-fold cross-validation of the in-process classifier on a `text,category`
 * CSV, with the precision/coverage curve of its out-of-fold confidences and the threshold `auto`
 * would choose; with `--validation`, CLINC150-style: calibrate on `--data`, measure on the other file.
 * `--from-config` cross-validates the configured examples instead (the console's evaluation);
 * `--record` keeps the figures in the hub's database, where the console's Intents page shows them.
 * `hub intents labels export` writes the learned-examples file from the approved labels.
 */
export function registerIntentCommands(program: Command, loadConfig: ConfigLoader): void {
  const intents = program.command('intents').description('Intent recognition tools');
  intents
    .command('eval')
    .description(
      'Cross-validate the in-process intent classifier (accuracy, macro-F1, latency, threshold curve); with --validation, calibrate on --data and report in-scope accuracy and out-of-scope recall',
    )
    .option('--data <file>', 'CSV with columns text,category (or text,intent)', DEFAULT_EVAL_DATA)
    .option(
      '--validation <file>',
      'held-out CSV: train on --data, choose the threshold from its out-of-fold confidences, report on this file',
    )
    .option(
      '--oos-label <name>',
      'label of out-of-scope rows (e.g. oos): never trained on; they count against precision when accepted',
    )
    .option(
      '--oos-share <x>',
      'share of traffic the out-of-scope rows stand for when the precision is measured',
      '0.2',
    )
    .option('--folds <n>', 'number of stratified folds of the cross-validation (without --validation)', '5')
    .option('--calibration-folds <n>', 'folds of the threshold calibration with --validation', '3')
    .option('--seed <n>', 'fold assignment seed', '7')
    .option('--target-precision <p>', 'precision the chosen threshold must reach out of fold', '0.9')
    .option('--threshold <p>', 'fixed confidence threshold to compare with', '0.7')
    .option('--limit <n>', 'use only the first n rows of each file (quick runs)')
    .option('--epochs <n>', 'most training epochs (default 12)')
    .option(
      '--tolerance <x>',
      'stop when an epoch lowers the training loss by less than this fraction (default 0: never)',
    )
    .option(
      '--model <kind>',
      'auto (default: the ensemble from 1000 examples on), ensemble (regression + embedding model) or linear (regression alone)',
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--from-config',
      "cross-validate the configured intents' examples (dialog.file plus dialog.examplesFile) instead of --data",
    )
    .option(
      '--record',
      "keep the figures in the hub's database (console: Intents); not with --validation. Embedded database: stop the hub first",
    )
    .option('-c, --config <file>', 'hub config (YAML), for --from-config and --record')
    .action(async (options: EvalOptions) => {
      const { crossValidate, evaluateHeldOut, formatHeldOutReport, formatReport, loadLabelledCsv } =
        await import('../../core/dialog/intent/eval');
      if (options.fromConfig || options.record) {
        await evaluateAndRecord(options, await loadConfig(options.config));
        return;
      }
      const data = requirePath(
        options.data,
        options.data === DEFAULT_EVAL_DATA
          ? 'the default intent data: BANKING77 beside the repository'
          : 'the intent data',
        'pass --data <file>, a CSV with columns text,category (e.g. --data banking77/train.csv)',
      );
      const limit = (rows: Awaited<ReturnType<typeof loadLabelledCsv>>) =>
        options.limit ? rows.slice(0, Number(options.limit)) : rows;
      const examples = limit(await loadLabelledCsv(data));
      const classifier = {
        ...(options.epochs ? { epochs: Number(options.epochs) } : {}),
        ...(options.tolerance ? { tolerance: Number(options.tolerance) } : {}),
        ...(options.model ? { model: modelOption(options.model) } : {}),
      };
      const targetPrecision = Number(options.targetPrecision);
      if (options.validation) {
        const validationFile = requirePath(
          options.validation,
          'the validation data',
          'pass --validation <file>, a CSV with the columns of --data (e.g. clinc150/validation.csv)',
        );
        const report = evaluateHeldOut(examples, limit(await loadLabelledCsv(validationFile)), {
          outOfScopeLabel: options.oosLabel,
          outOfScopeShare: Number(options.oosShare),
          targetPrecision,
          folds: Number(options.calibrationFolds),
          seed: Number(options.seed),
          fixedThreshold: Number(options.threshold),
          classifier,
        });
        console.log(options.json ? JSON.stringify(report, null, 2) : formatHeldOutReport(report));
        return;
      }
      const inScope = options.oosLabel ? examples.filter((e) => e.label !== options.oosLabel) : examples;
      const report = crossValidate(inScope, {
        folds: Number(options.folds),
        seed: Number(options.seed),
        threshold: Number(options.threshold),
        targetPrecision,
        classifier,
      });
      console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
    });
  intents
    .command('labels')
    .description('Intent labels from the console review queue')
    .command('export')
    .description(
      'Write the learned-examples file (dialog.examplesFile) from the approved labels in the database; the classifier reads it at start-up',
    )
    .option('--out <file>', 'write here instead of dialog.examplesFile')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { out?: string; config?: string }) => {
      const config = await loadConfig(options.config);
      const { exportLearnedExamples } = await import('../../core/intents/service');
      const { IntentReviewStore } = await import('../../core/intents/store');
      const file = options.out ?? config.dialog.examplesFile;
      const written = await withStore(config, (store) =>
        exportLearnedExamples(new IntentReviewStore(store.db), file),
      );
      console.log(
        `${written} approved examples written to ${file}; the workers train on them at their next start`,
      );
    });
}

/** `--from-config` and/or `--record`: the figures the console keeps, on the configured examples or --data. */
async function evaluateAndRecord(options: EvalOptions, config: HubConfig): Promise<void> {
  if (options.validation) {
    throw new HubError('cli.invalid_option', '--record and --from-config take no --validation; leave it out');
  }
  const { loadLabelledCsv } = await import('../../core/dialog/intent/eval');
  const { configExamples, evaluateExamples, recordEvaluation } = await import('../../core/intents/service');
  const { IntentReviewStore } = await import('../../core/intents/store');
  const { loadIntentConfig } = await import('../../core/dialog/setup');
  let examples: Awaited<ReturnType<typeof loadLabelledCsv>>;
  let dataset: string;
  if (options.fromConfig) {
    examples = configExamples(await loadIntentConfig(config));
    dataset = `config: ${config.dialog.file} + ${config.dialog.examplesFile}`;
  } else {
    const data = requirePath(options.data, 'the intent data', 'pass --data <file> or --from-config');
    examples = await loadLabelledCsv(data);
    dataset = data;
  }
  if (options.limit) examples = examples.slice(0, Number(options.limit));
  const model = options.model ? modelOption(options.model) : undefined;
  const evaluate = () =>
    evaluateExamples(examples, {
      seed: Number(options.seed),
      ...(options.folds && !options.fromConfig ? { folds: Number(options.folds) } : {}),
      ...(model ? { model } : {}),
    });
  const figures = options.record
    ? await withStore(config, async (store) => {
        const { id, figures } = await recordEvaluation(
          new IntentReviewStore(store.db),
          { dataset, source: 'cli' },
          evaluate,
        );
        console.error(`recorded as evaluation ${id}`);
        return figures;
      })
    : evaluate();
  if (options.json) {
    console.log(JSON.stringify({ dataset, ...figures }, null, 2));
    return;
  }
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  console.log(
    [
      `dataset ${dataset}: examples=${figures.examples} labels=${figures.labels} folds=${figures.folds}`,
      `accuracy  ${pct(figures.accuracy)}`,
      `macro-F1  ${pct(figures.macroF1)}`,
      'per intent (precision recall F1 support):',
      ...figures.perIntent.map(
        (s) => `  ${s.intent}: ${pct(s.precision)} ${pct(s.recall)} ${pct(s.f1)} ${s.support}`,
      ),
      ...(figures.confusions.length
        ? [
            'most frequent confusions (gold -> predicted: count):',
            ...figures.confusions.map((c) => `  ${c.gold} -> ${c.predicted}: ${c.count}`),
          ]
        : ['no confusions']),
    ].join('\n'),
  );
}

function modelOption(value: string): 'auto' | 'ensemble' | 'linear' {
  if (value === 'auto' || value === 'ensemble' || value === 'linear') return value;
  throw new HubError('cli.invalid_option', `--model ${value}: expected auto, ensemble or linear`);
}
