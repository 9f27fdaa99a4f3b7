import path from 'node:path';
import type { Command } from 'commander';
import { loadCommandConfig } from '../../core/config/load';
import type { HubConfig } from '../../core/config/schema';
import { requirePath } from './inputs';

/** The config of a `hub kb` command whose index is read: its knowledge folder must exist. */
async function config(file: string | undefined): Promise<HubConfig> {
  const hub = await loadCommandConfig(file);
  requirePath(
    hub.knowledge.dir,
    'the knowledge folder, knowledge.dir',
    'run from the repository root, or pass --config <file> whose knowledge.dir names the folder (e.g. --config config/hub.yaml)',
  );
  return hub;
}

/** `hub kb ingest | reindex | search | eval`. */
export function registerKnowledgeCommands(program: Command): void {
  const kb = program.command('kb').description('Knowledge base: ingest, reindex, search, evaluate');

  kb.command('ingest')
    .description(
      'Ingest files or folders (Markdown, HTML, text, CSV/JSON FAQ, PDF); unchanged files are skipped, removed ones deleted',
    )
    .argument('<paths...>', 'files or folders')
    .option('-c, --config <file>', 'hub config (YAML)')
    .option('--tenant <tenant>', 'tenant for documents that name none (default: shared by every tenant)')
    .option('--force', 'parse every file again even when unchanged')
    .action(async (paths: string[], options: { config?: string; tenant?: string; force?: boolean }) => {
      for (const target of paths) {
        requirePath(
          target,
          'a file or folder to ingest',
          'pass files or folders that exist (e.g. hub kb ingest knowledge)',
        );
      }
      const hub = await loadCommandConfig(options.config);
      const { ingest, formatSummary } = await import('../../core/rag/ingest/ingest');
      const { KnowledgeStore } = await import('../../core/rag/ingest/store');
      const { progressBar } = await import('../../core/rag/ingest/progress');
      const { createIndex, loadAllChunks } = await import('../../core/rag/index');
      const store = new KnowledgeStore(path.resolve(hub.knowledge.storeDir));
      // Only an index that outlives the process is written here; an in-process one reads the store.
      const created = await createIndex(hub);
      const index = created.isBuilt ? created : undefined;
      if (!index) await created.close();
      try {
        // An index still empty gets everything (blue/green) after the store is written, not just this delta.
        const live = index?.isBuilt ? await index.isBuilt() : false;
        let failed = 0;
        for (const target of paths) {
          const summary = await ingest(target, store, {
            ...(options.tenant ? { tenant: options.tenant } : {}),
            force: options.force,
            ...(index && live ? { index } : {}),
            onProgress: progressBar(),
          });
          console.log(`${target}:\n${formatSummary(summary)}`);
          failed += summary.failed.length;
        }
        if (index && !live) {
          const chunks = await loadAllChunks(hub);
          await index.replaceAll(chunks);
          console.log(`${index.name}: built the index with ${chunks.length} chunks`);
        }
        if (!index) console.log(`store: ${store.dir} (a running hub reloads it within seconds)`);
        if (failed > 0) process.exitCode = 1;
      } finally {
        await index?.close();
      }
    });

  kb.command('reindex')
    .description(
      'Rebuild the index from knowledge.dir and the ingest store; Elasticsearch swaps its alias only when the new index is complete',
    )
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { config?: string }) => {
      const hub = await config(options.config);
      const { createIndex, loadAllChunks } = await import('../../core/rag/index');
      const index = await createIndex(hub);
      try {
        const started = performance.now();
        const chunks = await loadAllChunks(hub);
        await index.replaceAll(chunks);
        console.log(
          `${index.name}: ${await index.count()} chunks indexed in ${Math.round(performance.now() - started)} ms`,
        );
      } finally {
        await index.close();
      }
    });

  kb.command('search')
    .description('Show the passages a question retrieves, with scores, as the bot would see them')
    .argument('<query>', 'the question')
    .option('-c, --config <file>', 'hub config (YAML)')
    .option('-k <k>', 'passages', '5')
    .option('--language <lang>', 'zh or en (default: detected)')
    .option('--tenant <tenant>', 'tenant')
    .action(
      async (query: string, options: { config?: string; k: string; language?: string; tenant?: string }) => {
        const hub = await config(options.config);
        const { createKnowledge } = await import('../../core/rag/index');
        const knowledge = await createKnowledge(hub, { watchMs: 0 });
        try {
          const passages = await knowledge.retriever.search(query, {
            k: Number(options.k),
            ...(options.language ? { language: options.language } : {}),
            ...(options.tenant ? { tenant: options.tenant } : {}),
          });
          if (passages.length === 0)
            console.log(
              '(nothing above the relevance threshold: the bot would say it does not know and offer a human)',
            );
          for (const p of passages)
            console.log(`${p.score.toFixed(3)}  ${p.id}  ${p.title}${p.url ? `  <${p.url}>` : ''}`);
        } finally {
          await knowledge.close();
        }
      },
    );

  kb.command('eval')
    .description(
      'Recall@1/5/10 and MRR over labelled queries, the AUROC of each confidence measure, and what the answer threshold does (answered, wrong, refused) per set and language',
    )
    .argument('<labelled>', 'labelled JSONL file')
    .option('-c, --config <file>', 'hub config (YAML)')
    .option('--json', 'print the rows as JSON')
    .action(async (file: string, options: { config?: string; json?: boolean }) => {
      requirePath(
        file,
        'the labelled queries',
        'pass a JSONL file of {"query", "relevant", "language"} lines (e.g. hub kb eval knowledge/eval/labelled.jsonl)',
      );
      const hub = await config(options.config);
      const { createKnowledge, AnsweringRetriever } = await import('../../core/rag/index');
      const { evalRows, formatEval, measureAurocs, readLabelled, runQueries, thresholdTable } = await import(
        '../../core/rag/eval'
      );
      const { progressBar } = await import('../../core/rag/ingest/progress');
      const queries = await readLabelled(file);
      const knowledge = await createKnowledge(hub, { watchMs: 0 });
      try {
        // Ranking is measured without the threshold; refused / wrong show what the threshold does.
        const answering = knowledge.retriever as InstanceType<typeof AnsweringRetriever>;
        const { minScore: threshold, measure } = answering;
        const outcomes = await runQueries(answering.withMinScore(0), queries, progressBar());
        const rows = evalRows(outcomes, { threshold, measure });
        if (options.json) {
          console.log(
            JSON.stringify(
              { rows, aurocs: measureAurocs(outcomes), calibration: knowledge.calibration },
              null,
              2,
            ),
          );
          return;
        }
        console.log(formatEval(rows));
        const heldOut = outcomes.filter((o) => o.query.set !== hub.knowledge.calibration.set);
        console.log('\nAUROC of each confidence measure (right first passage vs wrong or unanswerable):');
        for (const [label, group] of [
          ['all', outcomes],
          ['not used to calibrate', heldOut],
        ] as const) {
          const aurocs = measureAurocs(group)
            .map((a) => `${a.measure} ${Number.isNaN(a.auroc) ? '-' : a.auroc.toFixed(3)}`)
            .join('  ');
          console.log(`  ${label.padEnd(22)} ${aurocs}`);
        }
        const values = [...new Set([threshold, ...thresholdsAround(threshold)])].sort((a, b) => a - b);
        console.log(`\nThreshold on ${measure} (held-out rows, * = in use):`);
        const table = thresholdTable(heldOut.length ? heldOut : outcomes, measure, values).split('\n');
        console.log(
          table.map((line, i) => (i > 0 && values[i - 1] === threshold ? `${line}  *` : line)).join('\n'),
        );
        const c = knowledge.calibration;
        console.log(
          `\nretriever=${knowledge.index.name} embedder=${hub.knowledge.embeddings?.model ?? (hub.knowledge.embedder ? `onnx:${hub.knowledge.embedder.modelDir}` : 'none (lexical)')} rerank=${hub.knowledge.rerank?.model ?? 'off'} ` +
            `threshold=${threshold.toFixed(4)} on ${measure} ` +
            (c
              ? `(calibrated on ${c.source}: ${c.samples} questions, precision ${c.precision.toFixed(3)}, coverage ${c.coverage.toFixed(3)})`
              : '(fixed: knowledge.minScore or the retriever default)'),
        );
      } finally {
        await knowledge.close();
      }
    });
}

/** Thresholds to show around the one in use: half of it to twice it. */
function thresholdsAround(threshold: number): number[] {
  const base = threshold > 0 ? threshold : 0.1;
  return [0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2].map((f) => Number((base * f).toFixed(4)));
}
