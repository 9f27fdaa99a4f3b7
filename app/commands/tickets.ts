import type { Command } from 'commander';
import type { HubConfig } from '../../core/config/schema';
import { recordCliActionIn } from './audit';

/**
 * `hub tickets dlq [--replay] | pending`: what the ticket outbox and the comment outbox hold, and
 * replaying their dead letters.
 */
export function registerTicketCommands(
  program: Command,
  loadConfig: (file: string | undefined) => Promise<HubConfig>,
): void {
  const tickets = program
    .command('tickets')
    .description('Helpdesk tickets the hub opened (transactional outbox)');

  const withOutbox = async <T>(
    file: string | undefined,
    work: (
      outbox: import('../../core/tickets/outbox').TicketOutbox,
      comments: import('../../core/tickets/comment-outbox').TicketCommentOutbox,
      store: import('../../core/store').KyselyStore,
    ) => Promise<T>,
  ) => {
    const config = await loadConfig(file);
    const { createStore } = await import('../../core/store');
    const { TicketOutbox } = await import('../../core/tickets/outbox');
    const { TicketCommentOutbox } = await import('../../core/tickets/comment-outbox');
    const store = await createStore(config);
    try {
      return await work(new TicketOutbox(store.db), new TicketCommentOutbox(store.db), store);
    } finally {
      await store.close();
    }
  };

  tickets
    .command('dlq')
    .description('List ticket deliveries that failed for good, or replay them')
    .option('-c, --config <file>', 'hub config (YAML)')
    .option(
      '--replay [ids...]',
      'send all dead tickets and comments again, or those of these references (comments also by event id)',
    )
    .action(async (options: { config?: string; replay?: true | string[] }) => {
      await withOutbox(options.config, async (outbox, comments, store) => {
        if (options.replay) {
          const ids = options.replay === true ? undefined : options.replay;
          const n = await outbox.replay(ids);
          const c = await comments.replay(ids);
          await recordCliActionIn(store, {
            action: 'dlq.replay',
            subject: 'tickets-dlq',
            details: { references: ids ?? 'all', tickets: n, comments: c },
          });
          console.log(
            `replayed ${n} ticket(s) and ${c} comment(s); a running hub delivers them at its next poll`,
          );
          return;
        }
        const dead = await outbox.deadLetters(100);
        const deadComments = await comments.deadLetters(100);
        if (dead.length === 0) console.log('no dead tickets');
        for (const t of dead) {
          console.log(
            `${t.deadAt}  ${t.requestId}  ${t.adapter}  attempts=${t.attempts}  ${t.subject}\n    ${t.lastError}`,
          );
        }
        if (deadComments.length > 0) console.log('dead customer comments:');
        for (const c of deadComments) {
          console.log(
            `${c.deadAt}  ${c.requestId}  comment of event ${c.eventId}  ${c.adapter}  attempts=${c.attempts}\n    ${c.lastError}`,
          );
        }
      });
    });

  tickets
    .command('pending')
    .description('How many tickets wait for delivery')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { config?: string }) => {
      await withOutbox(options.config, async (outbox, comments) =>
        console.log(
          `${await outbox.pending()} ticket(s) pending, ${await comments.pending()} customer comment(s) pending`,
        ),
      );
    });
}
