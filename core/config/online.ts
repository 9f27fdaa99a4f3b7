/**
 * `hub validate --online`, the part every plug-in kind shares (channels, ERPs, helpdesks,
 * retrievers): run one check against a deadline, keep every secret of its config block out of
 * what it reports, and word the outcome as one line.
 */

/**
 * Asks a platform or back office whether one config block's credentials work, with a cheap
 * authenticated read. Resolves with a short detail for the `ok` line (never a secret), or with
 * `{ skipped }` when these options leave nothing to ask; rejects with what is wrong and how to fix
 * it. The signal ends the call when the deadline passes.
 */
export type OnlineCheckFor<Options> = (
  options: Options,
  context: { signal: AbortSignal },
) => Promise<string | OnlineSkip>;

/** A plug-in with nothing to ask ahead of time, and why. */
export interface OnlineSkip {
  skipped: string;
}

export interface OnlineOutcome {
  outcome: 'ok' | 'failed' | 'skipped';
  detail: string;
}

export const DEFAULT_ONLINE_TIMEOUT_MS = 15_000;

const SECRET_KEY = /token|secret|password|key|credential/i;

/** Every credential-looking string in a config block (and a password inside a URL), so no report line can quote one. */
export function secretsOf(value: unknown, key = ''): string[] {
  if (typeof value === 'string') {
    const secrets = SECRET_KEY.test(key) && value.length >= 6 ? [value] : [];
    const userinfo = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:([^/@\s]+)@/i.exec(value)?.[1];
    return userinfo ? [...secrets, userinfo, decodeURIComponent(userinfo)] : secrets;
  }
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([child, item]) => secretsOf(item, child));
  return [];
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), text);
}

/**
 * One online check: left out, the plug-in is reported as skipped; a check that has not answered
 * when `timeoutMs` passes fails with how to fix it. `block` is the raw config block whose secrets
 * are redacted from the detail, whatever the check or the remote side put in it.
 */
export async function runOnlineCheck<Options>(
  check: OnlineCheckFor<Options> | OnlineSkip | undefined,
  options: () => Options,
  { block, timeoutMs = DEFAULT_ONLINE_TIMEOUT_MS }: { block: unknown; timeoutMs?: number },
): Promise<OnlineOutcome> {
  if (!check) return { outcome: 'skipped', detail: 'no online check for this type' };
  if (typeof check !== 'function') return { outcome: 'skipped', detail: check.skipped };
  const secrets = secretsOf(block);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const detail = await Promise.race([
      check(options(), { signal }),
      new Promise<never>((_resolve, reject) =>
        signal.addEventListener('abort', () =>
          reject(new Error(`no answer in ${timeoutMs / 1000} s. Fix: check the API URL and the network.`)),
        ),
      ),
    ]);
    if (typeof detail !== 'string') return { outcome: 'skipped', detail: redact(detail.skipped, secrets) };
    return { outcome: 'ok', detail: redact(detail, secrets) };
  } catch (error) {
    return { outcome: 'failed', detail: redact((error as Error).message, secrets) };
  }
}

/** One line: `<subject> (<type>): ok — …`, `FAILED: <reason and fix>` or `skipped (…)`. */
export function formatOnlineLine(subject: string, type: string, result: OnlineOutcome): string {
  const head = `${subject} (${type})`;
  if (result.outcome === 'ok') return `${head}: ok — ${result.detail}`;
  if (result.outcome === 'skipped') return `${head}: skipped (${result.detail})`;
  const oneLine = result.detail
    .replace(/:\n\s+- /, ': ')
    .replace(/\.?\n\s+- /g, '; ')
    .replace(/\.?\n/g, '. ');
  return `${head}: FAILED: ${oneLine}`;
}
