import type { Caller } from './caller';

/**
 * The one way a transcript leaves the hub for an operator's eyes. Every role sees it as stored
 * today; the analyst's view is where PII masking goes (a separate change), so no route returns a
 * transcript without passing it through here.
 */
export function transcriptView<T>(_caller: Caller | undefined, transcript: T): T {
  return transcript;
}
