import type { z } from 'zod';
import { HubError } from '../types/errors';

/**
 * What every plug-in descriptor (ERP, helpdesk, retriever) has: a name and the schema of its own
 * config block, `<section>.<name>` in hub.yaml, kept next to the plug-in's code.
 */
export interface PluginDescriptor<Options = unknown> {
  readonly name: string;
  readonly options: z.ZodType<Options>;
  /**
   * What a missing block must set, e.g. "set baseUrl and apiKey"; unset when every option has a
   * default, so the block may be left out.
   */
  readonly requires?: string;
}

/** One problem in a config, with its path from the config root. */
export interface ConfigIssue {
  path: PropertyKey[];
  message: string;
}

/** The config section a registry picks from (`erp:`, `ticketing:`, `knowledge:`), blocks included. */
export type PluginSection = Record<string, unknown>;

/**
 * Plug-ins of one kind by name. The section's `selector` key (`driver`, `retriever`) names the
 * chosen one; its block is validated by the chosen descriptor's schema only.
 * `with` gives a registry with more descriptors: a deployment or a test adds one in one line.
 */
export class PluginRegistry<D extends PluginDescriptor> {
  private readonly byName: ReadonlyMap<string, D>;

  constructor(
    /** Words for messages: "helpdesk", "ERP", "retriever". */
    readonly kind: string,
    /** The config section: `erp`, `ticketing`, `knowledge`. */
    readonly section: string,
    readonly selector: string,
    descriptors: readonly D[],
  ) {
    const byName = new Map<string, D>();
    for (const descriptor of descriptors) {
      if (byName.has(descriptor.name)) {
        throw new HubError('plugin.duplicate', `Two ${kind} descriptors are named "${descriptor.name}"`);
      }
      byName.set(descriptor.name, descriptor);
    }
    this.byName = byName;
  }

  with(...more: D[]): PluginRegistry<D> {
    return new PluginRegistry(this.kind, this.section, this.selector, [...this.byName.values(), ...more]);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get descriptors(): D[] {
    return [...this.byName.values()];
  }

  get(name: string): D | undefined {
    return this.byName.get(name);
  }

  /** Problems with the chosen plug-in and its block; paths start at the section's keys. */
  issues(section: PluginSection): ConfigIssue[] {
    const name = String(section[this.selector]);
    const descriptor = this.byName.get(name);
    if (!descriptor) {
      return [
        {
          path: [this.selector],
          message: `unknown ${this.kind} "${name}"; use one of ${this.names.join(', ')}`,
        },
      ];
    }
    const block = section[name];
    if (block === undefined && descriptor.requires) {
      return [
        {
          path: [name],
          message: `${this.section}.${this.selector} is "${name}" but ${this.section}.${name} is missing; ${descriptor.requires}`,
        },
      ];
    }
    const parsed = descriptor.options.safeParse(block ?? {});
    if (parsed.success) return [];
    return parsed.error.issues.map((issue) => ({ path: [name, ...issue.path], message: issue.message }));
  }

  /**
   * The chosen descriptor and its block parsed; a coded error naming every problem and its fix
   * otherwise. Factories call this, so a config that skipped validation still fails fast.
   */
  resolve(section: PluginSection): { descriptor: D; options: unknown } {
    const problems = this.issues(section);
    if (problems.length > 0) {
      const lines = problems.map((p) => `  - ${[this.section, ...p.path].join('.')}: ${p.message}`);
      throw new HubError(
        `config.${this.section}`,
        `The ${this.kind} config is not valid:\n${lines.join('\n')}\nFix the keys above; config/hub.yaml shows every key with a comment.`,
      );
    }
    const name = String(section[this.selector]);
    const descriptor = this.byName.get(name) as D;
    return { descriptor, options: descriptor.options.parse(section[name] ?? {}) };
  }

  /**
   * A schema for the whole section: `generic` (the section's own keys), then the chosen block
   * parsed with its defaults, and the problems `moreIssues` finds (default: none besides the block's).
   */
  sectionSchema<S extends z.ZodType<PluginSection>>(
    generic: S,
    moreIssues: (section: PluginSection) => ConfigIssue[] = () => [],
  ): z.ZodType<z.output<S>, z.input<S>> {
    return generic
      .superRefine((section, ctx) => {
        for (const issue of [...this.issues(section), ...moreIssues(section)]) {
          ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
        }
      })
      .transform((section) => {
        const name = String(section[this.selector]);
        return { ...section, [name]: this.resolve(section).options };
      });
  }
}
