import type { Caller } from './caller';
import { maskPii } from './pii-mask';

/**
 * The one way a transcript leaves the hub for an operator's eyes. Analysts read transcripts with
 * personal data masked (core/security/pii-mask.ts); agents, supervisors and admins, who answer the
 * customer, read them as stored. No route returns a transcript without passing it through here.
 */
export function transcriptView<T extends { text: string }>(caller: Caller | undefined, transcript: T[]): T[] {
  if (caller?.role !== 'analyst') return transcript;
  return transcript.map((line) => ({ ...line, text: maskPii(line.text) }));
}
