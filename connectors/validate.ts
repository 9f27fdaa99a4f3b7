import { type ChannelRegistry, findChannel, type OnlineSkip } from '../core/channels/descriptor';
import type { OnlineCheck } from '../core/channels/types';
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

export interface OnlineResult {
  channel: string;
  type: string;
  outcome: 'ok' | 'failed' | 'skipped';
  detail: string;
}

const SECRET_KEY = /token|secret|password|key|credential/i;

/** Every credential-looking string in a channel block, so that no report line can quote one. */
function secretsOf(value: unknown, key = ''): string[] {
  if (typeof value === 'string') return SECRET_KEY.test(key) && value.length >= 6 ? [value] : [];
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([child, item]) => secretsOf(item, child));
  return [];
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), text);
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
  const timeoutMs = options.timeoutMs ?? 15_000;
  return Promise.all(
    config.channels
      .filter((channel) => channel.enabled)
      .map(async (channel): Promise<OnlineResult> => {
        const base = { channel: channel.id, type: channel.type };
        const check: OnlineCheck | OnlineSkip | undefined = findChannel(registry, channel.type)?.online;
        if (!check) return { ...base, outcome: 'skipped', detail: 'no online check for this type' };
        if (typeof check !== 'function') return { ...base, outcome: 'skipped', detail: check.skipped };
        const secrets = secretsOf(channel);
        const signal = AbortSignal.timeout(timeoutMs);
        try {
          const detail = await Promise.race([
            check(channel, { signal }),
            new Promise<never>((_resolve, reject) =>
              signal.addEventListener('abort', () =>
                reject(
                  new Error(`no answer in ${timeoutMs / 1000} s. Fix: check the API URL and the network.`),
                ),
              ),
            ),
          ]);
          return { ...base, outcome: 'ok', detail: redact(detail, secrets) };
        } catch (error) {
          return { ...base, outcome: 'failed', detail: redact((error as Error).message, secrets) };
        }
      }),
  );
}

/** One line per channel: `<id> (<type>): ok — …`, `FAILED: <reason and fix>` or `skipped (…)`. */
export function formatOnlineResult(result: OnlineResult): string {
  const head = `${result.channel} (${result.type})`;
  if (result.outcome === 'ok') return `${head}: ok — ${result.detail}`;
  if (result.outcome === 'skipped') return `${head}: skipped (${result.detail})`;
  const oneLine = result.detail
    .replace(/:\n\s+- /, ': ')
    .replace(/\.?\n\s+- /g, '; ')
    .replace(/\.?\n/g, '. ');
  return `${head}: FAILED: ${oneLine}`;
}
