import type { InboundEvent } from '../../core/types';

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
