import { setTimeout as sleep } from 'node:timers/promises';
import type { Telegram } from 'telegraf';
import type { Logger } from '../../core/log';
import { signalOption } from './sender';
import type { TgUpdate } from './wire';

export interface PollerStatus {
  /** Why polling is not working now (409 conflict, bad token), or undefined while it works. */
  problem?: string;
}

/**
 * Long polling with getUpdates. Telegram allows one poller per bot and none while a webhook is set:
 * both show up as 409 Conflict, which is reported (log, health) and retried slowly, never ignored.
 */
export function startPolling(options: {
  telegram: Telegram;
  timeoutSeconds: number;
  logger: Logger;
  handle: (update: TgUpdate) => Promise<void>;
  onConflict: () => void;
}): { status: PollerStatus; stop(): Promise<void> } {
  const status: PollerStatus = {};
  const controller = new AbortController();
  let offset = 0;
  const loop = (async () => {
    while (!controller.signal.aborted) {
      try {
        const updates = (await options.telegram.callApi(
          'getUpdates',
          { offset, timeout: options.timeoutSeconds, allowed_updates: [] } as never,
          signalOption(controller.signal),
        )) as unknown as TgUpdate[];
        status.problem = undefined;
        for (const update of updates) {
          await options.handle(update);
          offset = update.update_id + 1;
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        const code = (error as { response?: { error_code?: number; description?: string } }).response;
        if (code?.error_code === 409) {
          status.problem = `409: ${code.description ?? 'Conflict: another getUpdates poller or a webhook is active for this bot'}`;
          options.onConflict();
          options.logger.error(
            { code: 409 },
            'telegram polling conflict: another instance polls this bot or a webhook is set; run one poller per bot or use webhook mode',
          );
        } else {
          status.problem = code?.error_code
            ? `${code.error_code}: ${code.description}`
            : (error as Error).message;
          options.logger.warn({ code: code?.error_code }, 'telegram getUpdates failed; retrying');
        }
        await sleep(code?.error_code === 409 ? 3_000 : 1_000, undefined, { signal: controller.signal }).catch(
          () => {},
        );
      }
    }
  })();
  return {
    status,
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
