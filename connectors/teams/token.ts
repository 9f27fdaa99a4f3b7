import { DeliveryError } from '../../core/outbound/errors';

const FETCH_TIMEOUT_MS = 10_000;
/** A token is renewed this long before Entra says it expires. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * The bot's Bot Connector access token by OAuth2 client credentials
 * (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication,
 * "Authenticate requests from your bot to the Bot Connector service"), cached until shortly
 * before it expires; concurrent callers share one request.
 */
export class BotTokenProvider {
  private cached: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  /** Token requests made, for tests and metrics. */
  requests = 0;

  constructor(
    private readonly options: { endpoint: string; appId: string; appPassword: string; scope: string },
  ) {}

  async token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    this.pending ??= this.request().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The Bot Connector refused the token (401): the next call asks for a fresh one. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async request(): Promise<string> {
    this.requests++;
    let response: Response;
    try {
      response = await fetch(this.options.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.options.appId,
          client_secret: this.options.appPassword,
          scope: this.options.scope,
        }),
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (error) {
      throw new DeliveryError(
        'teams.token_unreachable',
        `token endpoint unreachable: ${(error as Error).message}`,
        {
          retryable: true,
          cause: error,
        },
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
      error?: unknown;
    };
    if (!response.ok || typeof body.access_token !== 'string') {
      const reason = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new DeliveryError(
        'teams.token_refused',
        `the token endpoint refused the bot's credentials (${reason}); check appId, appPassword and tenantId`,
        {
          retryable: response.status === 429 || response.status >= 500,
          ...(response.status === 429 ? { retryAfterMs: (retryAfter > 0 ? retryAfter : 1) * 1000 } : {}),
        },
      );
    }
    const lifetimeMs = (Number(body.expires_in) > 0 ? Number(body.expires_in) : 3600) * 1000;
    this.cached = {
      token: body.access_token,
      renewAt: Date.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2),
    };
    return body.access_token;
  }
}
