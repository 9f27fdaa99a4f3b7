import type { HubConfig } from '../config/schema';
import { HubError } from '../core/types/errors';
import { connectorFactories } from './registry';

/** Fail fast, before any connection is opened, when a channel names a type the hub does not have. */
export function validateChannels(config: HubConfig): void {
  const seen = new Set<string>();
  for (const [index, channel] of config.channels.entries()) {
    if (!connectorFactories[channel.type]) {
      throw new HubError(
        'config.channel_type',
        `channels.${index}.type: unknown channel type "${channel.type}". Fix: use one of ${Object.keys(connectorFactories).join(', ')}.`,
      );
    }
    if (seen.has(channel.id)) {
      throw new HubError(
        'config.channel_id',
        `channels.${index}.id: "${channel.id}" is used twice. Fix: give each channel its own id.`,
      );
    }
    seen.add(channel.id);
  }
}
