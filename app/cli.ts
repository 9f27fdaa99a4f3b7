import { Command, Option } from 'commander';
import { loadConfig, loadCommandConfig as withConfig } from '../core/config/load';
import type { HubConfig } from '../core/config/schema';
import { HubError } from '../core/types';
import { hubVersion } from '../core/version';
import { recordCliAction, registerAuditCommands } from './commands/audit';
import { registerIntentCommands } from './commands/intents';
import { registerKeyCommands } from './commands/keys';
import { registerKnowledgeCommands } from './commands/knowledge';
import { registerModelCommands } from './commands/models';
import { registerOperatorCommands } from './commands/operators';
import { registerRetentionCommands } from './commands/retention';
import { registerTicketCommands } from './commands/tickets';
import { registerTrainingCommands } from './commands/training';

function fail(error: unknown): never {
  if (error instanceof HubError) console.error(`hub: ${error.message}`);
  else console.error(error);
  process.exit(1);
}

const program = new Command('hub')
  .description('Omnichannel customer-service hub')
  .version(hubVersion, '-v, --version', 'print the hub version')
  .showHelpAfterError();

program
  .command('version')
  .description('Print the hub version')
  .action(() => console.log(hubVersion));

program
  .command('start')
  .description('Start the hub: HTTP channels and dialog workers')
  .option('-c, --config <file>', 'hub config (YAML)')
  .addOption(
    new Option('--role <role>', 'run the HTTP side, the workers, or both').choices(['all', 'api', 'worker']),
  )
  .action(async (options: { config?: string; role?: HubConfig['server']['role'] }) => {
    const { StartPhases } = await import('./start-phases');
    const phases = new StartPhases();
    phases.begin('config', 'reading and checking the config');
    const { checkHubConfig } = await import('./config-check');
    const config = await withConfig(options.config, checkHubConfig);
    if (options.role) config.server.role = options.role;
    // Before anything connects: a dropped connection must not take the process down (see the policy).
    const { installProcessFaultPolicy } = await import('./process-faults');
    installProcessFaultPolicy();
    const { shutdownTimeoutMs, stopWithin } = await import('./shutdown');
    const drainMs = shutdownTimeoutMs();
    const { startTracing } = await import('./telemetry');
    const tracing = await startTracing(config.telemetry);
    phases.begin('modules', 'loading the hub');
    const { startHub } = await import('./hub');
    const hub = await startHub(config, phases);
    let ops: { url: string; close(): Promise<void> } | undefined;
    if (hub.url) {
      console.log(`Hub listening on ${hub.url}`);
      if (hub.webchatUrl) console.log(`Web chat: ${hub.webchatUrl}`);
    } else {
      const { startWorkerOps } = await import('./worker-ops');
      ops = await startWorkerOps({
        ...hub,
        workerPort: config.server.workerPort,
        tls: config.server.tls,
        metricsToken: config.security.metricsToken,
      });
      console.log(ops ? `Hub workers running; health and metrics on ${ops.url}` : 'Hub workers running');
    }
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`${signal}: finishing in-flight work (at most ${drainMs} ms)`);
      const stopAll = async () => {
        await ops?.close();
        await hub.stop();
        // Last: the spans of the turns that just drained go out too.
        await tracing?.shutdown();
      };
      process.exit((await stopWithin({ stop: stopAll }, drainMs)) === 'drained' ? 0 : 1);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('validate')
  .description('Check a config file without starting anything')
  .argument('<file>', 'hub config (YAML)')
  .option(
    '--online',
    "then check each enabled channel's credentials against its platform, and the ERP's, helpdesk's and retriever's",
  )
  .action(async (file: string, options: { online?: boolean }) => {
    const { checkHubConfig } = await import('./config-check');
    const config = await loadConfig(file, process.env, checkHubConfig);
    // The dialog file and its flows are read at start-up too: their unknown keys fail here first.
    const { loadDialogConfig } = await import('../core/dialog/config');
    const { loadFlows } = await import('../core/dialog/flows/load');
    const dialog = await loadDialogConfig(config.dialog.file);
    const flows = await loadFlows(dialog.flowsDir);
    // The learned intent examples (absent: none yet) are read at start-up as well.
    const { loadLearnedExamples } = await import('../core/dialog/intent/learned');
    const learned = Object.values(await loadLearnedExamples(config.dialog.examplesFile)).flat().length;
    // So are the safety lexicons (core/safety): a mistake names the file and the key.
    const { SafetyKit } = await import('../core/safety');
    await SafetyKit.load(config.safety);
    const channels = config.channels.filter((c) => c.enabled).map((c) => `${c.id} (${c.type})`);
    console.log(`${file} is valid.`);
    console.log(
      `bus=${config.bus.driver} state=${config.state.driver} database=${config.database.driver} llm=${config.llm.enabled ? config.llm.model : 'off (extractive answers)'}`,
    );
    console.log(`channels: ${channels.join(', ') || 'none'}`);
    console.log(
      `dialog: ${config.dialog.file}, ${flows.flows.size} flows in ${dialog.flowsDir}, ${learned} learned intent examples`,
    );
    console.log(
      `safety: ${config.safety.enabled ? `lexicons ${config.safety.lexicons.join(', ') || 'none'}` : 'off'}`,
    );
    if (options.online) {
      const { checkChannelsOnline, formatOnlineResult } = await import('../connectors/validate');
      const { checkPluginsOnline, formatPluginOnlineResult } = await import('./plugins');
      const [channelResults, pluginResults] = await Promise.all([
        checkChannelsOnline(config),
        checkPluginsOnline(config),
      ]);
      for (const result of channelResults) console.log(formatOnlineResult(result));
      for (const result of pluginResults) console.log(formatPluginOnlineResult(result));
      const failed = [...channelResults, ...pluginResults].some((result) => result.outcome === 'failed');
      // A check still waiting on a socket must not hold the answer back.
      process.exit(failed ? 1 : 0);
    }
  });

program
  .command('dlq')
  .description('List the dead-letter queue, or replay it')
  .option('-c, --config <file>', 'hub config (YAML)')
  .option('--replay [eventIds...]', 're-enqueue all dead letters, or those with these event ids')
  .action(async (options: { config?: string; replay?: true | string[] }) => {
    const config = await withConfig(options.config);
    const { createBus } = await import('../core/bus');
    const bus = await createBus(config, { keyPrefix: config.redis.keyPrefix });
    try {
      if (options.replay) {
        const ids = options.replay === true ? undefined : options.replay;
        const replayed = await bus.replayDeadLetters(ids);
        await recordCliAction(config, {
          action: 'dlq.replay',
          subject: 'dlq',
          details: { eventIds: ids ?? 'all', replayed },
        });
        console.log(`replayed ${replayed} event(s)`);
      } else {
        for (const letter of await bus.deadLetters(100)) {
          console.log(
            `${letter.failedAt}  ${letter.event.id}  attempts=${letter.attempts}  ${letter.code ?? '-'}  ${letter.error}`,
          );
        }
      }
    } finally {
      await bus.close();
    }
  });

registerAuditCommands(program, withConfig);
registerIntentCommands(program, withConfig);
registerKnowledgeCommands(program);
registerTicketCommands(program, withConfig);
registerOperatorCommands(program, withConfig);
registerTrainingCommands(program, withConfig);
registerModelCommands(program, withConfig);
registerKeyCommands(program, withConfig);
registerRetentionCommands(program, withConfig);

program.parseAsync(process.argv).catch(fail);
