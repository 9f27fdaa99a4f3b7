import type { z } from 'zod';
import { HubError } from '../types/errors';
import { type ConfigIssue, describeConfigIssues } from './issues';
import type { OnlineCheckFor, OnlineSkip } from './online';
import { unknownKeyIssues } from './unknown-keys';

export type { ConfigIssue } from './issues';

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
  /**
   * `hub validate --online`: a cheap authenticated read with the parsed block, or why there is
   * nothing to ask; left out, the plug-in is reported as skipped.
   */
  readonly online?: OnlineCheckFor<Options> | OnlineSkip;
}

/**
 * Any descriptor, as a registry holds it: its online check takes what its own schema parsed, so
 * the registry hands it nothing but that (see `resolve`).
 */
export type AnyPluginDescriptor = Omit<PluginDescriptor, 'online'> & {
  readonly online?: OnlineCheckFor<never> | OnlineSkip;
};

/** The config section a registry picks from (`erp:`, `ticketing:`, `knowledge:`), blocks included. */
export type PluginSection = Record<string, unknown>;

/**
 * Plug-ins of one kind by name. The section's `selector` key (`driver`, `retriever`) names the
 * chosen one; its block is validated by the chosen descriptor's schema only.
 * `with` gives a registry with more descriptors: a deployment or a test adds one in one line.
 * A section key that is neither one of `generic`'s nor a plug-in's name is reported as unknown.
 */
export class PluginRegistry<D extends AnyPluginDescriptor> {
  private readonly byName: ReadonlyMap<string, D>;

  constructor(
    /** Words for messages: "helpdesk", "ERP", "retriever". */
    readonly kind: string,
    /** The config section: `erp`, `ticketing`, `knowledge`. */
    readonly section: string,
    readonly selector: string,
    descriptors: readonly D[],
    /** The section's own keys (core/config); the plug-ins' blocks sit beside them. */
    readonly generic?: z.ZodType,
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
    return new PluginRegistry(
      this.kind,
      this.section,
      this.selector,
      [...this.byName.values(), ...more],
      this.generic,
    );
  }

  /** The same registry, reporting a section key that is neither `generic`'s nor a plug-in's name. */
  withSectionKeys(generic: z.ZodType): PluginRegistry<D> {
    return new PluginRegistry(this.kind, this.section, this.selector, this.descriptors, generic);
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
    const checked = this.check(section);
    return 'issues' in checked ? checked.issues : [];
  }

  /**
   * The chosen descriptor and its block parsed; a coded error naming every problem and its fix
   * otherwise. Factories call this, so a config that skipped validation still fails fast.
   */
  resolve(section: PluginSection): { descriptor: D; options: unknown } {
    const checked = this.check(section);
    if ('issues' in checked) {
      const issues = checked.issues.map((issue) => ({ ...issue, path: [this.section, ...issue.path] }));
      throw new HubError('config.invalid', describeConfigIssues('config', issues));
    }
    return checked;
  }

  private check(section: PluginSection): { issues: ConfigIssue[] } | { descriptor: D; options: unknown } {
    const sectionKeys = this.generic ? unknownKeyIssues(this.generic, section, { allow: this.names }) : [];
    const chosen = this.checkBlock(section);
    if ('issues' in chosen || sectionKeys.length > 0) {
      return { issues: [...sectionKeys, ...('issues' in chosen ? chosen.issues : [])] };
    }
    return chosen;
  }

  private checkBlock(
    section: PluginSection,
  ): { issues: ConfigIssue[] } | { descriptor: D; options: unknown } {
    const name = String(section[this.selector]);
    const descriptor = this.byName.get(name);
    if (!descriptor) {
      const message = `unknown ${this.kind} "${name}"; use one of ${this.names.join(', ')}`;
      return { issues: [{ path: [this.selector], message }] };
    }
    const block = section[name];
    if (block === undefined && descriptor.requires) {
      const message = `${this.section}.${this.selector} is "${name}" but ${this.section}.${name} is missing; ${descriptor.requires}`;
      return { issues: [{ path: [name], message }] };
    }
    const unknown = unknownKeyIssues(descriptor.options, block, { path: [name] });
    const parsed = descriptor.options.safeParse(block ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({
        path: [name, ...issue.path],
        message: issue.message,
      }));
      return { issues: [...issues, ...unknown] };
    }
    return unknown.length > 0 ? { issues: unknown } : { descriptor, options: parsed.data };
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
          ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
        }
      })
      .transform((section) => {
        const name = String(section[this.selector]);
        return { ...section, [name]: this.resolve(section).options };
      });
  }
}
