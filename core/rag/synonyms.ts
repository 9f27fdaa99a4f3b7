import { normalize } from './text-features';

/** One group of `knowledge.synonyms`: words or phrases a customer may use for the same thing. */
export interface SynonymGroup {
  words: string[];
  /** Only this tenant's questions are expanded; unset: every tenant's. */
  tenant?: string;
}

interface Compiled {
  words: string[];
  patterns: RegExp[];
  tenant?: string;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Query expansion from the config: when a question names one member of a group ("PayPal"), the
 * other members ("payment methods", "支付方式") are added to the searched text, so the entry written
 * in the shop's words is found. Latin words match whole words only ("pay" is not in "paypal",
 * "paypal" is in "用paypal付款"); Chinese matches as a substring.
 */
export class Synonyms {
  private readonly groups: Compiled[];

  constructor(groups: SynonymGroup[] = []) {
    this.groups = groups.map((group) => {
      const words = group.words.map((w) => normalize(w).trim()).filter(Boolean);
      return {
        words,
        patterns: words.map((w) =>
          /^[\p{Script=Latin}\p{N}]/u.test(w)
            ? new RegExp(`(?<![\\p{Script=Latin}\\p{N}])${escapeRegExp(w)}(?![\\p{Script=Latin}\\p{N}])`, 'u')
            : new RegExp(escapeRegExp(w), 'u'),
        ),
        ...(group.tenant ? { tenant: group.tenant } : {}),
      };
    });
  }

  get size(): number {
    return this.groups.length;
  }

  /** `query` plus the other members of every group it mentions (for `tenant`, and the shared groups). */
  expand(query: string, tenant?: string): string {
    if (this.groups.length === 0) return query;
    const text = normalize(query);
    const added: string[] = [];
    for (const group of this.groups) {
      if (group.tenant && group.tenant !== tenant) continue;
      if (!group.patterns.some((p) => p.test(text))) continue;
      for (const [i, word] of group.words.entries()) if (!group.patterns[i]?.test(text)) added.push(word);
    }
    return added.length ? `${query} ${added.join(' ')}` : query;
  }
}
