import { type ChannelRegistry, findChannel } from '../core/channels/descriptor';
import { formatOnlineLine, type OnlineOutcome, runOnlineCheck } from '../core/config/online';
import { channelSchema, type HubConfig } from '../core/config/schema';
import { HubError } from '../core/types/errors';
import { channelRegistry } from './registry';
import { checkChannelOptions } from './shared/options';

/** Fail fast, before any connection is opened, when a channel names a type the hub does not have. */
export function validateChannels(config: HubConfig, registry: ChannelRegistry = channelRegistry): void {
  const seen = new Set<string>();
  for (const [index, channel] of config.channels.entries()) {
    if (!findChannel(registry, channel.type)) {
      throw new HubError(
        'config.channel_type',
        `channels.${index}.type: unknown channel type "${channel.type}". Fix: use one of ${registry.map((d) => d.type).join(', ')}.`,
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

/**
 * `hub validate FILE`, offline: every enabled channel's block through its own option schema, as
 * start-up would, so a bad `appId` or a missing secret shows before a deploy. One error naming
 * every broken channel, each with its keys and fixes. A type with no options of its own takes the
 * common keys only. (A typo of `enabled: false` leaves the block enabled, so it is reported here.)
 */
export function validateChannelOptions(config: HubConfig, registry: ChannelRegistry = channelRegistry): void {
  const problems: string[] = [];
  for (const channel of config.channels) {
    const descriptor = findChannel(registry, channel.type);
    if (!channel.enabled || !descriptor) continue;
    const { schema, hints } = descriptor.options ?? { schema: channelSchema, hints: {} };
    const checked = checkChannelOptions(channel, schema, hints);
    if ('problems' in checked) problems.push(checked.problems);
  }
  if (problems.length === 0) return;
  throw new HubError(
    'config.invalid',
    `${problems.join('\n')}\nFix the channel blocks in the hub config; README.md has a section per channel.`,
  );
}

export interface OnlineResult extends OnlineOutcome {
  channel: string;
  type: string;
}

/**
 * `hub validate --online`: ask each enabled channel's platform whether its credentials work, with
 * the check its descriptor names; the checks run side by side.
 */
export async function checkChannelsOnline(
  config: HubConfig,
  options: { timeoutMs?: number; registry?: ChannelRegistry } = {},
): Promise<OnlineResult[]> {
  const registry = options.registry ?? channelRegistry;
  return Promise.all(
    config.channels
      .filter((channel) => channel.enabled)
      .map(async (channel): Promise<OnlineResult> => {
        const check = findChannel(registry, channel.type)?.online;
        const outcome = await runOnlineCheck(check, () => channel, {
          block: channel,
          timeoutMs: options.timeoutMs,
        });
        return { channel: channel.id, type: channel.type, ...outcome };
      }),
  );
}

/** One line per channel: `<id> (<type>): ok — …`, `FAILED: <reason and fix>` or `skipped (…)`. */
export function formatOnlineResult(result: OnlineResult): string {
  return formatOnlineLine(result.channel, result.type, result);
}
