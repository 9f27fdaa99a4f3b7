import { z } from 'zod';
import { AdapterError, AdapterErrorCodes } from '../core/types';
import { basicAuth, requestJson } from './http';

/** How an adapter authenticates to an HTTP API (the `auth` block of ERP and helpdesk options). */
export const httpAuthSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('none') }),
    z.object({ type: z.literal('bearer'), token: z.string().min(1) }),
    z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string() }),
    z.object({
      type: z.literal('oauth2'),
      /** OAuth2 client-credentials grant (RFC 6749 §4.4). */
      tokenUrl: z.string().url(),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      scope: z.string().optional(),
    }),
  ])
  .default({ type: 'none' });

export type HttpAuthConfig = z.infer<typeof httpAuthSchema>;

/** Produces the Authorization header for a configured auth scheme; OAuth2 tokens are cached until near expiry. */
export class HttpAuth {
  private token?: { value: string; expiresAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly config: HttpAuthConfig,
    private readonly system: string,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `send` with this scheme's headers (an Authorization header, unless the type is none); after a
   * 401, `send` once more with a freshly fetched OAuth2 token.
   */
  async authorized<T>(
    signal: AbortSignal | undefined,
    send: (headers: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    const attempt = async () => {
      const authorization = await this.header(signal);
      return send(authorization ? { authorization } : {});
    };
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof AdapterError && error.status === 401 && this.invalidate()) return attempt();
      throw error;
    }
  }

  private async header(signal?: AbortSignal): Promise<string | undefined> {
    switch (this.config.type) {
      case 'none':
        return undefined;
      case 'bearer':
        return `Bearer ${this.config.token}`;
      case 'basic':
        return basicAuth(this.config.username, this.config.password);
      case 'oauth2':
        return `Bearer ${await this.accessToken(signal)}`;
    }
  }

  /** After a 401: forget the cached token so the next header() fetches a new one. Returns whether a retry can help. */
  private invalidate(): boolean {
    if (this.config.type !== 'oauth2' || !this.token) return false;
    this.token = undefined;
    return true;
  }

  private async accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.token.expiresAt) return this.token.value;
    this.pending ??= this.fetchToken(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** RFC 6749 §4.4: client credentials, the client authenticating with HTTP basic (§2.3.1). */
  private async fetchToken(signal?: AbortSignal): Promise<string> {
    if (this.config.type !== 'oauth2') throw new Error('not oauth2');
    const { tokenUrl, clientId, clientSecret, scope } = this.config;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    const { body } = await requestJson<{ access_token?: string; expires_in?: number; token_type?: string }>(
      `${this.system} token endpoint`,
      tokenUrl,
      {
        method: 'POST',
        body: form,
        headers: {
          authorization: basicAuth(encodeURIComponent(clientId), encodeURIComponent(clientSecret)),
          'content-type': 'application/x-www-form-urlencoded',
        },
        signal,
        timeoutMs: this.timeoutMs,
      },
    );
    if (!body?.access_token) {
      throw new AdapterError(
        AdapterErrorCodes.auth,
        `${this.system} token endpoint returned no access_token`,
      );
    }
    const lifetimeMs = (body.expires_in ?? 3600) * 1000;
    // Renew a little early so a token never expires in flight.
    this.token = { value: body.access_token, expiresAt: this.now() + Math.max(0, lifetimeMs - 30_000) };
    return body.access_token;
  }
}
