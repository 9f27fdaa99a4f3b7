import { createHash } from 'node:crypto';
import { type HubConfig, llmRollbackSchema } from '../config/schema';
import { logger } from '../log';
import { llmCanaryRolledBack, llmCanaryShare } from '../metrics';
import type { ModelRelease } from '../types';
import { type CanaryStore, MemoryCanaryStore, type RollbackRecord, type WindowCounts } from './canary-store';

type LlmSection = HubConfig['llm'];
type ModelEntry = NonNullable<LlmSection['models']>[number];
type RollbackRule = NonNullable<LlmSection['rollback']>;

export const rollbackRuleOf = (llm: Pick<LlmSection, 'rollback'>): RollbackRule =>
  llm.rollback ?? llmRollbackSchema.parse({});

export type { CanaryStore, RollbackRecord, WindowCounts } from './canary-store';

/** One version of a model as `hub models status` shows it. */
export interface VersionStatus {
  /** The `llm.models` entry. */
  endpoint: string;
  version: string;
  /** The model name sent to the server. */
  served: string;
  canary: boolean;
  configuredShare: number;
  effectiveShare: number;
  /** Counted only for models with a canary. */
  window?: WindowCounts;
}

export interface ModelStatus {
  /** The stable entry's name; its canary is listed under it. */
  model: string;
  role: ModelEntry['role'];
  versions: VersionStatus[];
  rollback?: RollbackRecord;
}

export interface ModelsStatus {
  rollback: RollbackRule;
  models: ModelStatus[];
}

/**
 * The canary release of `llm.models`: which version a conversation talks to, the sliding window
 * of each canaried model's versions, and the automatic rollback. Shared by the router (which
 * routes and records) and the admin route (which reports and resets); the state behind it is a
 * {@link CanaryStore}.
 */
export interface CanaryControl {
  /** The model and version an `llm.models` entry serves; a canary's model is its stable's name. */
  releaseOf(endpoint: string): ModelRelease;
  /** The canary a conversation goes to instead of `stable`, by the last known rollback state. */
  canaryFor(stable: string, conversation: string | undefined): string | undefined;
  /** Read the shared rollback state when the copy here is older than the refresh interval. */
  refresh(): Promise<void>;
  /** Count one request first routed to `endpoint`; a canary over a threshold is rolled back. */
  record(endpoint: string, outcome: { error: boolean; fallback: boolean }): Promise<void>;
  status(): Promise<ModelsStatus>;
  /** An operator's reset: the canary gets its configured share again, with an empty window. */
  reset(model: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface CanaryControlOptions {
  /** How stale the rollback state may be before a request reads it again (another process may have rolled back). */
  refreshMs?: number;
  now?: () => number;
}

const log = logger.child({ component: 'llm-canary' });

/**
 * Where a conversation falls in [0, 1) for `canary`: a hash of both, so the same conversation
 * always lands in the same place, raising the share only adds conversations, and each canary
 * draws its own sample.
 */
export function splitPoint(canary: string, conversation: string): number {
  const digest = createHash('sha256').update(`${canary}\n${conversation}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function createCanaryControl(
  llm: Pick<LlmSection, 'models' | 'rollback'>,
  store: CanaryStore = new MemoryCanaryStore(rollbackRuleOf(llm).windowMs),
  options: CanaryControlOptions = {},
): CanaryControl {
  const models = llm.models ?? [];
  const rule = rollbackRuleOf(llm);
  const refreshMs = options.refreshMs ?? 1_000;
  const now = options.now ?? Date.now;
  const byName = new Map(models.map((m) => [m.name, m]));
  /** Stable name → its canary entry. */
  const canaries = new Map(models.flatMap((m) => (m.canary ? [[m.canary.of, m] as const] : [])));
  const rolledBack = new Map<string, RollbackRecord>();
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;

  const stableOf = (entry: ModelEntry) => entry.canary?.of ?? entry.name;
  const versionOf = (entry: ModelEntry) => entry.version ?? entry.model;
  const releaseOf = (endpoint: string): ModelRelease => {
    const entry = byName.get(endpoint);
    return entry
      ? { model: stableOf(entry), version: versionOf(entry) }
      : { model: endpoint, version: endpoint };
  };
  const configuredShare = (stable: string) => canaries.get(stable)?.canary?.share ?? 0;
  const effectiveShare = (stable: string) => (rolledBack.has(stable) ? 0 : configuredShare(stable));

  function publish(stable: string): void {
    const canary = canaries.get(stable);
    if (!canary) return;
    const labels = { model: stable, version: versionOf(canary) };
    llmCanaryShare.set(labels, effectiveShare(stable));
    llmCanaryRolledBack.set(labels, rolledBack.has(stable) ? 1 : 0);
  }
  for (const stable of canaries.keys()) publish(stable);

  async function readState(): Promise<void> {
    for (const stable of canaries.keys()) {
      const record = await store.rollbackOf(stable);
      if (record) rolledBack.set(stable, record);
      else rolledBack.delete(stable);
      publish(stable);
    }
    refreshedAt = now();
  }

  async function judge(canary: ModelEntry, window: WindowCounts): Promise<void> {
    const stable = stableOf(canary);
    if (rolledBack.has(stable) || window.requests < rule.minRequests) return;
    const reason =
      window.errors / window.requests > rule.maxErrorRate
        ? 'error_rate'
        : window.fallbacks / window.requests > rule.maxFallbackRate
          ? 'fallback_rate'
          : undefined;
    if (!reason) return;
    const record: RollbackRecord = {
      version: versionOf(canary),
      at: new Date(now()).toISOString(),
      reason,
      window,
    };
    const first = await store.rollBack(stable, record);
    rolledBack.set(stable, first ? record : ((await store.rollbackOf(stable)) ?? record));
    publish(stable);
    if (first) {
      log.warn(
        { code: 'llm.canary_rolled_back', model: stable, version: record.version, reason, window, rule },
        'canary rolled back: its conversations go to the stable version until `hub models reset` lifts it',
      );
    }
  }

  return {
    releaseOf,
    canaryFor(stable, conversation) {
      const canary = canaries.get(stable);
      const share = effectiveShare(stable);
      if (!canary || conversation === undefined || share <= 0) return undefined;
      return splitPoint(canary.name, conversation) < share ? canary.name : undefined;
    },
    refresh() {
      if (canaries.size === 0 || now() - refreshedAt < refreshMs) return Promise.resolve();
      refreshing ??= readState()
        .catch((error: unknown) => {
          // The last known state stands; the answer must not wait on bookkeeping.
          refreshedAt = now();
          log.warn({ err: error }, 'could not read the canary rollback state; using the last known');
        })
        .finally(() => {
          refreshing = undefined;
        });
      return refreshing;
    },
    async record(endpoint, outcome) {
      const entry = byName.get(endpoint);
      if (!entry || !canaries.has(stableOf(entry))) return;
      try {
        const window = await store.record(stableOf(entry), versionOf(entry), outcome);
        if (entry.canary) await judge(entry, window);
      } catch (error) {
        log.warn({ err: error, endpoint }, 'could not count a canary request; the rollback window misses it');
      }
    },
    async status() {
      await readState();
      const stables = models.filter((m) => !m.canary);
      return {
        rollback: rule,
        models: await Promise.all(
          stables.map(async (stable): Promise<ModelStatus> => {
            const canary = canaries.get(stable.name);
            const versions = [stable, ...(canary ? [canary] : [])];
            const share = {
              configured: configuredShare(stable.name),
              effective: effectiveShare(stable.name),
            };
            return {
              model: stable.name,
              role: stable.role,
              versions: await Promise.all(
                versions.map(
                  async (entry): Promise<VersionStatus> => ({
                    endpoint: entry.name,
                    version: versionOf(entry),
                    served: entry.model,
                    canary: entry === canary,
                    configuredShare: entry === canary ? share.configured : 1 - share.configured,
                    effectiveShare: entry === canary ? share.effective : 1 - share.effective,
                    ...(canary ? { window: await store.counts(stable.name, versionOf(entry)) } : {}),
                  }),
                ),
              ),
              ...(rolledBack.has(stable.name) ? { rollback: rolledBack.get(stable.name) } : {}),
            };
          }),
        ),
      };
    },
    async reset(model) {
      const canary = canaries.get(model);
      const stable = byName.get(model);
      if (!canary || !stable) return false;
      const lifted = await store.reset(model, [versionOf(stable), versionOf(canary)]);
      rolledBack.delete(model);
      publish(model);
      if (lifted) log.info({ model, version: versionOf(canary) }, 'canary rollback reset by an operator');
      return lifted;
    },
    close: () => store.close(),
  };
}
