import type { SafetyAction, SafetyConfig } from '../config/safety-schema';
import { safetyHits } from '../metrics';
import type { Disclaimer, LexiconFile } from './lexicon';
import { entriesOf, loadLexiconFile } from './lexicon';
import { type SafetyHit, SafetyMatcher } from './matcher';

export { fold, foldWord } from './fold';
export { type Grounding, groundedByLlm, groundedByRules } from './grounded';
export { injectionByLlm, injectionRule } from './injection';
export { type LexiconEntry, type LexiconFile, lexiconFileSchema, loadLexiconFile } from './lexicon';
export { type SafetyHit, SafetyMatcher } from './matcher';
export { SAFETY_MESSAGES, type SafetyMessageKey } from './messages';

/** Where a check ran: the customer's message, the injection screen, a generated answer, a streamed draft. */
export type SafetyStage = 'input' | 'injection' | 'output' | 'draft' | 'groundedness';

/** One tenant's lexicon and disclaimers, built once. */
export interface TenantSafety {
  matcher: SafetyMatcher;
  disclaimers: Disclaimer[];
  /** Topic words of the disclaimers; a hit's category is the disclaimer's id. */
  topics: SafetyMatcher;
}

/** The safety lexicons of every tenant, read at start-up (core/dialog/setup.ts). */
export class SafetyKit {
  private readonly tenants = new Map<string, TenantSafety>();

  constructor(
    readonly config: SafetyConfig,
    private readonly files: readonly LexiconFile[],
  ) {}

  static async load(config: SafetyConfig): Promise<SafetyKit> {
    const files = config.enabled ? await Promise.all(config.lexicons.map(loadLexiconFile)) : [];
    return new SafetyKit(config, files);
  }

  /** The tenant's own files first (their actions win on a shared word), then those for every tenant. */
  forTenant(tenant = 'default'): TenantSafety {
    let found = this.tenants.get(tenant);
    if (!found) {
      const own = this.files.filter((f) => f.tenant === tenant);
      const shared = this.files.filter((f) => f.tenant === undefined);
      const files = [...own, ...shared];
      const disclaimers = files.flatMap((f) => f.disclaimers);
      found = {
        matcher: new SafetyMatcher(files.flatMap(entriesOf)),
        disclaimers,
        topics: new SafetyMatcher(
          disclaimers.map((d) => ({
            category: d.id,
            word: d.id,
            forms: d.topics,
            action: 'flag' as const,
            output: 'flag' as const,
          })),
        ),
      };
      this.tenants.set(tenant, found);
    }
    return found;
  }
}

const STRENGTH: Record<SafetyAction, number> = { flag: 0, refuse: 1, handoff: 2 };

/** The strongest action among hits (handoff > refuse > flag), for input or for output. */
export function strongest(hits: readonly SafetyHit[], side: 'action' | 'output'): SafetyAction | undefined {
  let best: SafetyAction | undefined;
  for (const hit of hits) if (!best || STRENGTH[hit[side]] > STRENGTH[best]) best = hit[side];
  return best;
}

/** The stronger of two actions, either possibly absent. */
export function strongerOf(a?: SafetyAction, b?: SafetyAction): SafetyAction | undefined {
  if (!a) return b;
  if (!b) return a;
  return STRENGTH[a] >= STRENGTH[b] ? a : b;
}

/** Counts a hit: `hub_safety_hits_total{category,stage}`. */
export function countHit(category: string, stage: SafetyStage): void {
  safetyHits.inc({ category, stage });
}
