import type { Command } from 'commander';
import type { HubConfig } from '../../config/schema';

/** `hub tickets list|dlq [--replay]`: what the ticket outbox holds, and replaying its dead letters. */
export function registerTicketCommands(
  program: Command,
  loadConfig: (file: string | undefined) => Promise<HubConfig>,
): void {
  const tickets = program
    .command('tickets')
    .description('Helpdesk tickets the hub opened (transactional outbox)');

  const withOutbox = async <T>(
    file: string | undefined,
    work: (outbox: import('./outbox').TicketOutbox) => Promise<T>,
  ) => {
    const config = await loadConfig(file);
    const { createStore } = await import('../store');
    const { TicketOutbox } = await import('./outbox');
    const store = await createStore(config);
    try {
      return await work(new TicketOutbox(store.db));
    } finally {
      await store.close();
    }
  };

  tickets
    .command('dlq')
    .description('List ticket deliveries that failed for good, or replay them')
    .option('-c, --config <file>', 'hub config (YAML)')
    .option('--replay [requestIds...]', 'send all dead tickets again, or those with these references')
    .action(async (options: { config?: string; replay?: true | string[] }) => {
      await withOutbox(options.config, async (outbox) => {
        if (options.replay) {
          const ids = options.replay === true ? undefined : options.replay;
          const n = await outbox.replay(ids);
          console.log(`replayed ${n} ticket(s); a running hub delivers them at its next poll`);
          return;
        }
        const dead = await outbox.deadLetters(100);
        if (dead.length === 0) console.log('no dead tickets');
        for (const t of dead) {
          console.log(
            `${t.deadAt}  ${t.requestId}  ${t.adapter}  attempts=${t.attempts}  ${t.subject}\n    ${t.lastError}`,
          );
        }
      });
    });

  tickets
    .command('pending')
    .description('How many tickets wait for delivery')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { config?: string }) => {
      await withOutbox(options.config, async (outbox) =>
        console.log(`${await outbox.pending()} ticket(s) pending`),
      );
    });
}
