import type { z } from 'zod';
import type { OnlineSkip } from '../config/online';
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
  /** `hub validate --online`; left out, the type is reported as skipped. */
  readonly online?: OnlineCheck | OnlineSkip;
}

/** The registered channel types, in the order `hub validate` lists them. */
export type ChannelRegistry = readonly ChannelDescriptor[];

export function findChannel(registry: ChannelRegistry, type: string): ChannelDescriptor | undefined {
  return registry.find((descriptor) => descriptor.type === type);
}
