import { conversationPseudonym, loadAnalyticsKey } from '../analytics/store';
import type { RetentionConfig } from '../config/retention-schema';
import { logger } from '../log';
import { recordOperatorAction, SCHEDULER_ACTOR } from '../security/audit';
import type { CustomerTarget } from './customer-lookup';
import { type EraseDeps, type EraseReport, eraseCustomer } from './erase';
import { JobLease } from './job-lease';
import type { KyselyStore } from './kysely-store';
import { type PurgeOptions, type PurgeReport, purgeExpired } from './retention';

/**
 * Retention and erasure as operators and the scheduler run them: the work (./retention.ts,
 * ./erase.ts) and its audit record, which holds counts and ids, never what the customer wrote or
 * who they are on a platform.
 */

/** One purge run, on record as `operator.retention.purge` unless it is a dry run. */
export async function purgeOnRecord(
  store: KyselyStore,
  config: RetentionConfig,
  actor: string,
  options: PurgeOptions = {},
): Promise<PurgeReport> {
  const report = await purgeExpired(store.db, config, { batchSize: config.batchSize, ...options });
  if (!report.dryRun) {
    await recordOperatorAction(store, {
      actor,
      action: 'retention.purge',
      subject: 'retention',
      details: { at: report.at, total: report.total, tenants: report.tenants },
    });
  }
  return report;
}

/**
 * Erases a customer and puts it on record as `operator.customer.erase` with the hub's customer id
 * (a random id nothing maps to a person once the erasure is done) and counts. The audit records of
 * the erased conversations are redacted under the same actor (core/store/audit-log.ts `redact`);
 * their business metrics go by the pseudonym of each conversation key (core/analytics).
 */
export async function eraseOnRecord(
  store: KyselyStore,
  target: CustomerTarget,
  actor: string,
  deps: Pick<EraseDeps, 'states'> & { details?: Record<string, unknown> } = {},
): Promise<EraseReport> {
  const pseudonymKey = await loadAnalyticsKey(store.db);
  const report = await eraseCustomer(store.db, target, {
    ...(deps.states ? { states: deps.states } : {}),
    redactAudit: (match) => store.auditLog.redact(match, actor),
    pseudonym: (conversationKey) => conversationPseudonym(pseudonymKey, conversationKey),
  });
  await recordOperatorAction(store, {
    actor,
    action: 'customer.erase',
    subject: report.customerIds.length === 1 ? `customer:${report.customerIds[0]}` : 'customer',
    details: {
      customerIds: report.customerIds,
      counts: report.counts,
      sharedConversations: report.sharedConversations,
      externalTickets: report.externalTickets.length,
      by: target.kind,
      ...deps.details,
    },
  });
  return report;
}

export const RETENTION_JOB = 'retention.purge';

export interface RetentionSchedulerOptions {
  /** Time between purges across the deployment. */
  intervalMs: number;
  /** How often each process asks whether a purge is due (default: a minute, or the interval when shorter). */
  checkEveryMs?: number;
  /** Lease holder name (default: random per scheduler). */
  holder?: string;
}

/**
 * Runs the purge every `intervalMs` in one process of the deployment at a time: the process that
 * takes the job's lease (./job-lease.ts) holds it for a whole interval, renewing it while it
 * purges, so the others find it taken until the next purge is due. The lease is in the database,
 * so this works the same on PostgreSQL and on embedded PGlite.
 */
export class RetentionScheduler {
  private readonly lease: JobLease;
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;

  constructor(
    private readonly store: KyselyStore,
    private readonly config: RetentionConfig,
    private readonly options: RetentionSchedulerOptions,
  ) {
    this.lease = new JobLease(store.db, RETENTION_JOB, options.holder);
  }

  start(): void {
    const every = this.options.checkEveryMs ?? Math.min(this.options.intervalMs, 60_000);
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    // The first check soon after start-up: a deployment that restarts often still purges.
    this.first = setTimeout(() => void this.tick(), Math.min(every, 5_000));
    this.first.unref();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopping) return;
    this.running = this.runOnce()
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'retention purge failed; the next check retries'),
      )
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
  }

  /** Purges when this scheduler gets the lease; `skipped` when another holds it (a purge ran or runs elsewhere). */
  async runOnce(): Promise<PurgeReport | 'skipped'> {
    if (!(await this.lease.acquire(this.options.intervalMs))) return 'skipped';
    const report = await purgeOnRecord(this.store, this.config, SCHEDULER_ACTOR, {
      betweenBatches: async () => {
        if (this.stopping)
          throw new Error('the hub is stopping: the purge ends here and resumes at the next run');
        if (!(await this.lease.renew(this.options.intervalMs))) {
          throw new Error('the retention lease was lost to another process');
        }
      },
    });
    logger.info({ total: report.total }, 'retention purge done');
    return report;
  }

  /** Stops checking and waits for a purge in progress to end at its next batch. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.first);
    await this.running;
  }
}
