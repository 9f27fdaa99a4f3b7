import { HubError } from '../types/errors';

/**
 * `work`, or a `deadline.timeout` error after `ms`: for callers that must answer in time whatever a
 * dependency does (a probe, a scrape), where a paused server would otherwise hold them indefinitely.
 * The work itself is not cancelled; it settles on its own when the dependency answers.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new HubError('deadline.timeout', `timeout after ${ms} ms`, { retryable: true, status: 503 })),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
