import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { retentionConfigured } from '../../core/config/retention-schema';
import type { HubConfig } from '../../core/config/schema';
import { CLI_ACTOR } from '../../core/security/audit';
import { parseCustomerTarget } from '../../core/store/customer-lookup';
import type { EraseReport } from '../../core/store/erase';
import type { PurgeCounts } from '../../core/store/retention';
import { HubError, type StateStore } from '../../core/types';
import { withStore } from './audit';

type ConfigLoader = (file: string | undefined) => Promise<HubConfig>;

function describeCounts(counts: PurgeCounts): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${what}=${n}`)
    .join(' ');
}

/** What an erasure did, and what it cannot reach, in the words an operator answers a request with. */
export function describeErasure(report: EraseReport, statesInMemory: boolean): string[] {
  if (report.customerIds.length === 0) {
    return ['nothing to erase: no such customer (already erased, or never seen)'];
  }
  const counts = Object.entries(report.counts)
    .map(([what, n]) => `${what}=${n}`)
    .join(' ');
  const lines = [`erased customer ${report.customerIds.join(', ')}: ${counts}`];
  if (report.sharedConversations > 0) {
    lines.push(
      `${report.sharedConversations} group conversation(s): the customer's messages and the replies to them were deleted; the conversation and its tickets stay for the others`,
    );
  }
  for (const ticket of report.externalTickets) {
    lines.push(
      `delete in the helpdesk yourself: ${ticket.adapter} ticket ${ticket.externalId}${ticket.url ? ` (${ticket.url})` : ''}`,
    );
  }
  if (report.counts.intentLabels > 0) {
    lines.push(
      'intent labels of their turns were deleted: run `hub intents labels export` (or approve the next label) so the learned-examples file drops an approved one',
    );
  }
  if (statesInMemory) {
    lines.push(
      'state.driver is memory: a running hub keeps its in-memory dialog state until it expires (state.ttlHours) or the hub restarts',
    );
  }
  lines.push(
    'not reached from here: helpdesks outside the hub, database backups and log files, events still on the bus or in its dead-letter queue (hub dlq); the same person on another channel is another identity (erase it too)',
  );
  return lines;
}

/** `hub retention purge` and `hub customer erase`: retention windows and the right to be forgotten. */
export function registerRetentionCommands(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('retention')
    .description('Data retention (retention: in the config)')
    .command('purge')
    .description('Delete transcripts and raw payloads older than their tenant window, now')
    .option('--dry-run', 'count what would go, change nothing')
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (options: { dryRun?: boolean; config?: string }) => {
      const config = await loadConfig(options.config);
      if (!retentionConfigured(config.retention)) {
        throw new HubError(
          'retention.unset',
          'No retention window to purge by. Fix: set retention.transcriptsDays (and payloadsDays, or per tenant under retention.tenants) in the config.',
        );
      }
      const { purgeOnRecord } = await import('../../core/store/data-protection');
      const report = await withStore(config, (store) =>
        purgeOnRecord(store, config.retention, CLI_ACTOR, { ...(options.dryRun ? { dryRun: true } : {}) }),
      );
      const verb = report.dryRun ? 'would purge' : 'purged';
      const tenants = Object.entries(report.tenants);
      if (tenants.length === 0 && report.total.customers === 0 && report.total.rejectedWebhooks === 0) {
        console.log(`nothing to purge (${report.at})`);
        return;
      }
      for (const [tenant, counts] of tenants) console.log(`${verb} ${tenant}: ${describeCounts(counts)}`);
      console.log(`${verb} in all: ${describeCounts(report.total)}`);
    });

  program
    .command('customer')
    .description('One customer’s data')
    .command('erase')
    .description('Right to be forgotten: delete everything the hub keeps about one customer, on record')
    .argument('<id>', 'the customer id (uuid), or <channel>:<platform user id>')
    .option(
      '--tenant <tenant>',
      'with <channel>:<user id>: only this tenant (default: every tenant of the channel)',
    )
    .option('-c, --config <file>', 'hub config (YAML)')
    .action(async (id: string, options: { tenant?: string; config?: string }) => {
      const target = parseCustomerTarget(id, options.tenant);
      if (!target) {
        throw new HubError(
          'customer.id_invalid',
          `"${id}" names no customer. Fix: give the customer's uuid, or <channel id>:<platform user id> (e.g. telegram:123456).`,
        );
      }
      const config = await loadConfig(options.config);
      const { createStateStore } = await import('../../core/state');
      const { eraseOnRecord } = await import('../../core/store/data-protection');
      const report = await withStore(config, async (store) => {
        // The state store hashes its key names and seals the state with the database's keys.
        const states: StateStore = await createStateStore(config, {
          keyPrefix: config.redis.keyPrefix,
          atRest: store.atRest,
        });
        try {
          return await eraseOnRecord(store, target, CLI_ACTOR, {
            states,
            details: { user: userInfo().username },
          });
        } finally {
          await states.close();
        }
      });
      for (const line of describeErasure(report, config.state.driver === 'memory')) console.log(line);
    });
}
