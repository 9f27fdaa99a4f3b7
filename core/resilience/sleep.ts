import { setTimeout as wait } from 'node:timers/promises';

/**
 * Wait `ms` between tries. A caller's abort ends the wait at once, with the caller's own error
 * (`aborted`) rather than Node's AbortError, so the coded error says which deadline passed.
 */
export async function sleep(ms: number, signal?: AbortSignal, aborted?: () => Error): Promise<void> {
  try {
    await wait(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted && aborted) throw aborted();
    throw error;
  }
}
