import { PiiDetector, type PiiFinding } from './detect';
import { DEFAULT_PII_CONFIG, type PiiConfig, type PiiRules, piiRulesFor } from './schema';

/** Kinds that are never written back, whatever the model echoes: the customer reads them masked. */
const NEVER_RESTORED = new Set(['CARD', 'CVV']);
/** A placeholder as the masker writes it. */
export const PLACEHOLDER = /<([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*?)_(\d+)>/g;

/** How a card shows where its placeholder is not restored: the last four digits. */
export function maskedCard(value: string): string {
  return `**** **** **** ${value.replace(/\D/g, '').slice(-4)}`;
}

/**
 * The placeholders of one conversation turn: the same value gets the same placeholder in every
 * message masked through the vault (`<PHONE_1>` twice for one number written two ways), and a
 * placeholder reads back as its value, except cards (`**** **** **** 1234`) and CVVs (`***`).
 */
export class PiiVault {
  private readonly byKey = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, PiiFinding>();
  private readonly counters = new Map<string, number>();

  constructor(
    readonly detector: PiiDetector,
    private readonly restoreValues = detector.rules.restore,
  ) {}

  get size(): number {
    return this.byPlaceholder.size;
  }

  /** The text with each find replaced by its typed placeholder. */
  mask(text: string): string {
    const finds = this.detector.find(text);
    if (finds.length === 0) return text;
    let out = '';
    let at = 0;
    for (const find of finds) {
      out += text.slice(at, find.start) + this.placeholderOf(find);
      at = find.end;
    }
    return out + text.slice(at);
  }

  /** Placeholders back to the customer's values; cards and CVVs to their masked form. */
  restore(text: string): string {
    if (this.byPlaceholder.size === 0 || !text.includes('<')) return text;
    return text.replace(PLACEHOLDER, (placeholder) => {
      const find = this.byPlaceholder.get(placeholder);
      if (!find) return placeholder;
      if (find.type === 'CARD') return maskedCard(find.value);
      if (find.type === 'CVV') return '***';
      return this.restoreValues && !NEVER_RESTORED.has(find.type) ? find.value : placeholder;
    });
  }

  private placeholderOf(find: PiiFinding): string {
    const known = this.byKey.get(find.key);
    if (known) return known;
    const n = (this.counters.get(find.type) ?? 0) + 1;
    this.counters.set(find.type, n);
    const placeholder = `<${find.type}_${n}>`;
    this.byKey.set(find.key, placeholder);
    this.byPlaceholder.set(placeholder, find);
    return placeholder;
  }
}

/**
 * Restores placeholders in streamed text without breaking one split across chunks: a `<` that may
 * still become a placeholder is held back until it is complete or cannot be one.
 */
export class StreamRestorer {
  private held = '';

  constructor(private readonly vault: PiiVault) {}

  /** The text that can be shown now. */
  push(delta: string): string {
    const text = this.held + delta;
    const open = text.lastIndexOf('<');
    if (open >= 0 && text.indexOf('>', open) < 0 && /^<[A-Z0-9_]{0,40}$/.test(text.slice(open))) {
      this.held = text.slice(open);
      return this.vault.restore(text.slice(0, open));
    }
    this.held = '';
    return this.vault.restore(text);
  }

  /** What is still held at the end of the stream. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return this.vault.restore(rest);
  }
}

/** Detectors per tenant, built once per configuration. */
export class PiiMasker {
  private readonly detectors = new Map<string, PiiDetector>();

  constructor(readonly config: PiiConfig = DEFAULT_PII_CONFIG) {}

  rules(tenant?: string): PiiRules {
    return this.detector(tenant).rules;
  }

  detector(tenant?: string): PiiDetector {
    const key = tenant && this.config.tenants[tenant] ? tenant : '';
    let detector = this.detectors.get(key);
    if (!detector) {
      detector = new PiiDetector(piiRulesFor(this.config, key || undefined));
      this.detectors.set(key, detector);
    }
    return detector;
  }

  /** A fresh vault: one per conversation turn or model request. */
  vault(tenant?: string): PiiVault {
    return new PiiVault(this.detector(tenant));
  }

  /** The text with placeholders (a ticket's subject, a draft, a log line). */
  mask(text: string, tenant?: string): string {
    return this.vault(tenant).mask(text);
  }
}

/** The masker of an unconfigured hub: every built-in kind, CN phone numbers. */
export const defaultPiiMasker = new PiiMasker();
