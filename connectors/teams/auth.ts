import {
  type CryptoKey,
  decodeProtectedHeader,
  errors,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';

/** Clock skew the Bot Framework SDKs tolerate on exp/nbf (botbuilder-js channelValidation.ts: 5 minutes). */
export const CLOCK_TOLERANCE_SECONDS = 300;
/** Signing keys are re-read at least this often; the SDKs cache them for days. */
const KEY_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** A token naming an unknown key re-reads the key set at most this often, so forged kids cannot hammer it. */
const UNKNOWN_KEY_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 10_000;

export type AuthFailure =
  | 'missing_token'
  | 'malformed'
  | 'bad_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'service_url_mismatch'
  | 'not_endorsed'
  | 'keys_unavailable';

export type TokenVerdict =
  | { ok: true; claims: JWTPayload; endorsements: string[] }
  | { ok: false; reason: AuthFailure };

interface SigningKey {
  key: CryptoKey | Uint8Array;
  endorsements: string[];
}

/** `Authorization: Bearer <jwt>` → the token, or undefined for anything else. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header.trim());
  return match?.[1];
}

/**
 * Validates the JWT the Bot Connector service sends with every activity (Bot Connector
 * authentication, "Authenticate requests from the Bot Connector service to your bot"): RS256 by a
 * key from the OpenID metadata's `jwks_uri`, issuer, audience = the App ID, exp/nbf within five
 * minutes' skew; then, against the activity, the `serviceUrl` claim and the key's endorsement of
 * the activity's channel.
 */
export class BotFrameworkTokenValidator {
  private keys = new Map<string, SigningKey>();
  private loadedAt = 0;
  private lastAttempt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly options: {
      appId: string;
      issuer: string;
      openIdMetadataUrl: string;
      clockToleranceSeconds?: number;
    },
  ) {}

  async verify(token: string, now = Date.now()): Promise<TokenVerdict> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    // Checked before any key is looked up: `alg: none` and HMAC tokens never reach the key set.
    if (header.alg !== 'RS256') return { ok: false, reason: 'bad_algorithm' };
    if (typeof header.kid !== 'string') return { ok: false, reason: 'unknown_key' };
    let signing: SigningKey | undefined;
    try {
      signing = await this.keyFor(header.kid, now);
    } catch {
      return { ok: false, reason: 'keys_unavailable' };
    }
    if (!signing) return { ok: false, reason: 'unknown_key' };
    try {
      const { payload } = await jwtVerify(token, signing.key, {
        algorithms: ['RS256'],
        issuer: this.options.issuer,
        audience: this.options.appId,
        clockTolerance: this.options.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now),
        requiredClaims: ['exp'],
      });
      return { ok: true, claims: payload, endorsements: signing.endorsements };
    } catch (error) {
      return { ok: false, reason: failureOf(error) };
    }
  }

  /** The claims and key that passed `verify` must also vouch for this activity. */
  static checkActivity(
    verdict: Extract<TokenVerdict, { ok: true }>,
    activity: { serviceUrl?: unknown; channelId?: unknown },
  ): AuthFailure | undefined {
    const claimed = verdict.claims.serviceUrl;
    if (typeof claimed !== 'string' || claimed !== activity.serviceUrl) return 'service_url_mismatch';
    if (typeof activity.channelId !== 'string' || !verdict.endorsements.includes(activity.channelId)) {
      return 'not_endorsed';
    }
    return undefined;
  }

  /** For /readyz: the metadata and keys can be read (or were, recently). */
  async ready(): Promise<void> {
    if (this.keys.size > 0 && Date.now() - this.loadedAt < KEY_MAX_AGE_MS) return;
    await this.load();
  }

  private async keyFor(kid: string, now: number): Promise<SigningKey | undefined> {
    if (this.keys.size === 0 || now - this.loadedAt > KEY_MAX_AGE_MS) {
      await this.load().catch((error: unknown) => {
        // Stale keys still verify while the metadata endpoint is down; no keys at all cannot.
        if (this.keys.size === 0) throw error;
      });
    }
    const known = this.keys.get(kid);
    if (known || now - this.lastAttempt < UNKNOWN_KEY_COOLDOWN_MS) return known;
    // Microsoft rotates keys: an unknown kid may be a new one.
    await this.load().catch(() => {});
    return this.keys.get(kid);
  }

  private load(): Promise<void> {
    this.loading ??= this.fetchKeys().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttempt = Date.now();
    const metadata = (await getJson(this.options.openIdMetadataUrl)) as { jwks_uri?: unknown };
    if (typeof metadata.jwks_uri !== 'string') {
      throw new Error(`OpenID metadata at ${this.options.openIdMetadataUrl} has no jwks_uri`);
    }
    const set = (await getJson(metadata.jwks_uri)) as { keys?: Array<JWK & { endorsements?: unknown }> };
    const keys = new Map<string, SigningKey>();
    for (const jwk of set.keys ?? []) {
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use && jwk.use !== 'sig')) continue;
      try {
        const key = await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256');
        const endorsements = Array.isArray(jwk.endorsements)
          ? jwk.endorsements.filter((e): e is string => typeof e === 'string')
          : [];
        keys.set(jwk.kid, { key, endorsements });
      } catch {
        // A key this runtime cannot import is one no valid token of ours is signed with.
      }
    }
    if (keys.size === 0) throw new Error(`no usable RS256 keys at ${metadata.jwks_uri}`);
    this.keys = keys;
    this.loadedAt = Date.now();
  }
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}

function failureOf(error: unknown): AuthFailure {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'wrong_issuer';
    if (error.claim === 'aud') return 'wrong_audience';
    if (error.claim === 'nbf' || error.claim === 'iat') return 'not_yet_valid';
    return 'malformed';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'bad_algorithm';
  return 'malformed';
}
