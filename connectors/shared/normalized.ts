import { eventShapeProblem } from '../../core/channels/event-shape';
import { HubError, type InboundEvent } from '../../core/types';

/** What normalizing one platform update gives: an event for the bus, or why there is none. */
export type Normalized = { event: InboundEvent } | { ignored: string };

export const ignore = (reason: string): Normalized => ({ ignored: reason });

/** Collapse the blanks a removed mention leaves behind. */
export function tidyText(text: string): string {
  return text
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/^[ \t]+|[ \t]+$/gm, '')
    .trim();
}

/**
 * A connector's normalize as the hub calls it: whatever the payload holds, the result is an ignore
 * reason, an event whose fields have the types the worker reads (core/channels/event-shape.ts), or
 * a thrown HubError 400 `<type>.malformed_update` (the cause kept) — never a TypeError for a field
 * of the wrong type. The connector acknowledges such an update and keeps it for inspection.
 */
export function guardNormalize<A extends unknown[]>(
  type: string,
  normalize: (...args: A) => Normalized,
): (...args: A) => Normalized {
  return (...args) => checkedNormalized(type, () => normalize(...args));
}

/** One normalize call under the rule of {@link guardNormalize}. */
export function checkedNormalized(type: string, normalize: () => Normalized): Normalized {
  let result: Normalized;
  try {
    result = normalize();
  } catch (cause) {
    if (cause instanceof HubError) throw cause;
    throw malformed(type, `${(cause as Error)?.name ?? 'Error'} while reading the update`, cause);
  }
  if ('event' in result) {
    const problem = eventShapeProblem(result.event);
    if (problem) throw malformed(type, problem);
  }
  return result;
}

function malformed(type: string, problem: string, cause?: unknown): HubError {
  return new HubError(`${type}.malformed_update`, `The ${type} update could not be read: ${problem}`, {
    status: 400,
    ...(cause === undefined ? {} : { cause }),
  });
}
