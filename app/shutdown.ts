import { logger } from '../core/log';
import { HubError } from '../core/types';

/** How long `hub start` drains in-flight turns after SIGTERM before it exits anyway. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

export function shutdownTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.HUB_SHUTDOWN_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new HubError(
      'config.invalid',
      `HUB_SHUTDOWN_TIMEOUT_MS is "${raw}"; set it to a whole number of milliseconds, e.g. 30000, or unset it for ${DEFAULT_SHUTDOWN_TIMEOUT_MS}.`,
    );
  }
  return value;
}

/**
 * Stop the hub, but give up after `timeoutMs`: a turn stuck on a hung upstream must not hold the
 * process past the orchestrator's kill (Kubernetes terminationGracePeriodSeconds). Whatever was still
 * in flight is redelivered by the bus to another worker (at-least-once, idempotent consumers).
 */
export async function stopWithin(
  hub: { stop(): Promise<void> },
  timeoutMs: number,
): Promise<'drained' | 'timed_out'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timed_out'>((resolve) => {
    timer = setTimeout(() => resolve('timed_out'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([hub.stop().then(() => 'drained' as const), deadline]);
    if (outcome === 'timed_out') {
      logger.warn({ timeoutMs }, 'shutdown deadline passed with work in flight; the bus redelivers it');
    }
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}
