import { createHmac, createSign, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readParams, sendJson } from './http-util';

/**
 * The Microsoft identity side of a Teams bot, for tests: the Bot Framework OpenID metadata
 * (`/v1/.well-known/openidconfiguration`) and its JWK set, with per-key `endorsements` as
 * login.botframework.com serves them, built from an RSA key generated at start; a signer that mints
 * the tokens the Bot Connector sends a bot (RS256, iss https://api.botframework.com, aud = App ID,
 * serviceUrl claim); and the Entra OAuth2 client-credentials endpoint
 * (`/{tenant}/oauth2/v2.0/token`) that issues the bot's outbound tokens, with Entra's error shapes
 * (400 unsupported_grant_type / invalid_scope, 401 invalid_client) and injectable failures.
 */
export interface OpenIdEmulatorOptions {
  appId: string;
  appPassword: string;
  issuer?: string;
  /** Lifetime of issued access tokens, seconds (Entra: about an hour). */
  tokenLifetimeSeconds?: number;
}

export interface ChannelTokenClaims {
  serviceUrl?: string;
  aud?: string;
  iss?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** Seconds from now the token becomes valid. */
  notBefore?: number;
  [claim: string]: unknown;
}

export interface SignOptions {
  /** `main` (endorsed for msteams), `unendorsed` (published, endorsed for another channel), `rogue` (not published). */
  key?: 'main' | 'unendorsed' | 'rogue';
  alg?: 'RS256' | 'none' | 'HS256';
  kid?: string;
}

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  endorsements: string[];
}

function newKey(kid: string, endorsements: string[]): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey, endorsements };
}

export class OpenIdEmulator {
  url = '';
  readonly issuer: string;
  readonly tokenRequests: Array<{ clientId: string; status: number; at: number }> = [];
  /** While true, the metadata and key endpoints answer 503. */
  unavailable = false;
  private readonly keys = {
    main: newKey('fake-bf-key-1', ['msteams', 'webchat']),
    unendorsed: newKey('fake-bf-key-2', ['skype']),
    rogue: newKey('fake-bf-key-1', ['msteams']),
  };
  private readonly tokenFailures: Array<{ status: number; retryAfter?: number }> = [];
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: Error) =>
      sendJson(response, 500, { error: 'server_error', error_description: error.message }),
    );
  });

  constructor(private readonly options: OpenIdEmulatorOptions) {
    this.issuer = options.issuer ?? 'https://api.botframework.com';
  }

  get metadataUrl(): string {
    return `${this.url}/v1/.well-known/openidconfiguration`;
  }

  tokenEndpoint(tenant = 'botframework.com'): string {
    return `${this.url}/${tenant}/oauth2/v2.0/token`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The next `times` token requests fail with `status` (429 with Retry-After). */
  failTokenNext(status: number, times = 1, retryAfter?: number): void {
    for (let i = 0; i < times; i++) this.tokenFailures.push({ status, retryAfter });
  }

  /** A token as the Bot Connector service sends it to the bot; claims override the valid defaults. */
  signChannelToken(claims: ChannelTokenClaims = {}, options: SignOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const { expiresIn = 3600, notBefore = -60, ...rest } = claims;
    const payload = {
      iss: this.issuer,
      aud: this.options.appId,
      nbf: now + notBefore,
      iat: now + Math.min(notBefore, 0),
      exp: now + expiresIn,
      ...rest,
    };
    return this.sign(payload, options);
  }

  /** Whether an `Authorization: Bearer` token is one this emulator issued to the bot and still valid. */
  verifyAccessToken(token: string): boolean {
    const [header, payload, signature] = token.split('.');
    if (!header || !payload || !signature) return false;
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${header}.${payload}`);
    if (!verifier.verify(this.keys.main.publicKey, Buffer.from(signature, 'base64url'))) return false;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      aud?: string;
      appid?: string;
      exp?: number;
    };
    return (
      claims.aud === 'https://api.botframework.com' &&
      claims.appid === this.options.appId &&
      (claims.exp ?? 0) > Date.now() / 1000
    );
  }

  private sign(payload: Record<string, unknown>, options: SignOptions): string {
    const alg = options.alg ?? 'RS256';
    const key = this.keys[options.key ?? 'main'];
    const header = b64url(JSON.stringify({ alg, typ: 'JWT', kid: options.kid ?? key.kid, x5t: key.kid }));
    const body = b64url(JSON.stringify(payload));
    const input = `${header}.${body}`;
    if (alg === 'none') return `${input}.`;
    if (alg === 'HS256') {
      // Signed with the public key's bytes as an HMAC secret: the classic RS/HS confusion forgery.
      const secret = key.publicKey.export({ format: 'pem', type: 'spki' });
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    }
    const signer = createSign('RSA-SHA256');
    signer.update(input);
    return `${input}.${signer.sign(key.privateKey).toString('base64url')}`;
  }

  private jwk(key: SigningKey) {
    const jwk = key.publicKey.export({ format: 'jwk' });
    return {
      kty: 'RSA',
      use: 'sig',
      kid: key.kid,
      x5t: key.kid,
      n: jwk.n,
      e: jwk.e,
      endorsements: key.endorsements,
    };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'GET' && url.pathname === '/v1/.well-known/openidconfiguration') {
      if (this.unavailable) return sendJson(response, 503, { error: 'unavailable' });
      return sendJson(response, 200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.url}/v1/.well-known/authorize`,
        jwks_uri: `${this.url}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    if (request.method === 'GET' && url.pathname === '/v1/.well-known/keys') {
      if (this.unavailable) return sendJson(response, 503, { error: 'unavailable' });
      return sendJson(response, 200, { keys: [this.jwk(this.keys.main), this.jwk(this.keys.unendorsed)] });
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (request.method === 'POST' && token) return this.issueToken(request, response, url, token[1] ?? '');
    sendJson(response, 404, { error: 'not_found' });
  }

  private async issueToken(request: IncomingMessage, response: ServerResponse, url: URL, tenant: string) {
    const params = await readParams(request, url).catch(() => ({}) as Record<string, unknown>);
    const record = { clientId: String(params.client_id ?? ''), status: 200, at: Date.now() };
    this.tokenRequests.push(record);
    const fail = (
      status: number,
      error: string,
      description: string,
      headers: Record<string, string> = {},
    ) => {
      record.status = status;
      sendJson(response, status, { error, error_description: description, error_codes: [] }, headers);
    };
    const injected = this.tokenFailures.shift();
    if (injected) {
      return fail(
        injected.status,
        injected.status === 429 ? 'temporarily_unavailable' : 'server_error',
        'AADSTS90033: A transient error has occurred. Please try again.',
        injected.retryAfter ? { 'retry-after': String(injected.retryAfter) } : {},
      );
    }
    if (params.grant_type !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
    }
    if (params.client_id !== this.options.appId || params.client_secret !== this.options.appPassword) {
      return fail(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    }
    if (params.scope !== 'https://api.botframework.com/.default') {
      return fail(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
    }
    const lifetime = this.options.tokenLifetimeSeconds ?? 3599;
    const now = Math.floor(Date.now() / 1000);
    const accessToken = this.sign(
      {
        aud: 'https://api.botframework.com',
        iss: `https://sts.windows.net/${tenant}/`,
        appid: this.options.appId,
        iat: now,
        nbf: now,
        exp: now + lifetime,
      },
      {},
    );
    sendJson(response, 200, {
      token_type: 'Bearer',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
    });
  }
}
