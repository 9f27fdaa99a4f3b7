import type { z } from 'zod';
import type { OnlineSkip } from '../config/online';
import { HubError } from '../types/errors';
import type { ConnectorFactory, OnlineCheck } from './types';

/** A channel type's own option schema and per-key fixes (e.g. which environment variable to set). */
export interface ChannelOptions {
  schema: z.ZodType;
  hints: Record<string, string>;
}

/**
 * Everything the hub knows about a channel type, exported once from its folder: start-up, `hub
 * validate` and `hub validate --online` all read it. Adding a channel is its folder plus one line in
 * connectors/registry.ts (style rule 9).
 */
export interface ChannelDescriptor {
  /** The `type` a channel block names. */
  readonly type: string;
  /** Checked for every enabled block before any connector starts; left out where the common block is all. */
  readonly options?: ChannelOptions;
  /** Builds the connector; parses its options and fails fast with how to fix them. */
  readonly create: ConnectorFactory;
  /**
   * Loads the channel's code (and its platform SDK) before `create`, which start-up awaits for the
   * types of the enabled blocks only: a hub without the channel never loads it (see `loadedOnDemand`).
   */
  readonly load?: () => Promise<void>;
  /** `hub validate --online`; left out, the type is reported as skipped. */
  readonly online?: OnlineCheck | OnlineSkip;
}

/** The registered channel types, in the order `hub validate` lists them. */
export type ChannelRegistry = readonly ChannelDescriptor[];

export function findChannel(registry: ChannelRegistry, type: string): ChannelDescriptor | undefined {
  return registry.find((descriptor) => descriptor.type === type);
}

/** Loads the descriptor of every enabled channel block that has a `load` (once per type). */
export async function loadChannelTypes(
  registry: ChannelRegistry,
  channels: ReadonlyArray<{ type: string; enabled: boolean }>,
): Promise<void> {
  const types = new Set(channels.filter((channel) => channel.enabled).map((channel) => channel.type));
  await Promise.all([...types].map((type) => findChannel(registry, type)?.load?.()));
}

/**
 * `load` and `create` of a channel whose code is imported on demand: `load` imports the factory,
 * `create` builds with it (and says so if called before `load`, which start-up never does).
 */
export function loadedOnDemand(
  type: string,
  load: () => Promise<ConnectorFactory>,
): Pick<ChannelDescriptor, 'create' | 'load'> {
  let factory: ConnectorFactory | undefined;
  return {
    async load() {
      factory ??= await load();
    },
    create(context) {
      if (!factory) {
        throw new HubError(
          'channel.not_loaded',
          `channel type ${type}: its code is loaded by load() before create()`,
        );
      }
      return factory(context);
    },
  };
}
