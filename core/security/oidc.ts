import * as client from 'openid-client';
import type { OidcConfig } from '../config/security-schema';
import { HubError } from '../types/errors';
import { normalizeLogin, type Operator, type OperatorStore } from './operator-store';
import { isRole, type Role } from './permissions';

/** How long a browser may take at the issuer's login page. */
const PENDING_LOGIN_TTL_MS = 10 * 60_000;

const refuse = (code: string, message: string, cause?: unknown) =>
  new HubError(`oidc.${code}`, message, { status: 403, ...(cause ? { cause } : {}) });

/** Only a local path: the callback never redirects off this hub. */
export const safeReturnPath = (value: unknown): string =>
  typeof value === 'string' && /^\/(?![/\\])[\w\-./?=&%]*$/.test(value) ? value : '/console/';

/**
 * Single sign-on with OpenID Connect, authorization code + PKCE (S256) with state and nonce, by
 * openid-client. The pending login (verifier, nonce) waits server-side under its state, for one
 * callback only. The issuer's metadata is discovered on first use and again after a failure, so a
 * hub starts while its issuer is down.
 */
export class OidcLogin {
  private discovered: Promise<client.Configuration> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly operators: OperatorStore,
  ) {}

  get redirectUri(): string {
    return this.config.redirectUri;
  }

  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const { issuer, clientId, clientSecret, allowInsecureIssuer } = this.config;
      this.discovered = client
        .discovery(
          new URL(issuer),
          clientId,
          clientSecret,
          clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(),
          { ...(allowInsecureIssuer ? { execute: [client.allowInsecureRequests] } : {}), timeout: 10 },
        )
        .catch((error: unknown) => {
          this.discovered = undefined;
          throw new HubError(
            'oidc.unavailable',
            `The OIDC issuer ${issuer} did not answer its discovery document`,
            {
              cause: error,
              status: 503,
              retryable: true,
            },
          );
        });
    }
    return this.discovered;
  }

  /** The issuer's authorization URL for a new login that comes back to `returnTo`. */
  async start(returnTo: string): Promise<URL> {
    const configuration = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    await this.operators.savePendingLogin(
      state,
      { codeVerifier, nonce, returnTo: safeReturnPath(returnTo) },
      PENDING_LOGIN_TTL_MS,
    );
    return client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
  }

  /** The operator of a callback: code exchanged, ID token checked, account matched or created. */
  async finish(callbackUrl: URL): Promise<{ operator: Operator; returnTo: string }> {
    const configuration = await this.configuration();
    const state = callbackUrl.searchParams.get('state') ?? '';
    const pending = state ? await this.operators.takePendingLogin(state) : undefined;
    if (!pending) throw refuse('unknown_state', 'This sign-in link expired or was used; sign in again.');
    let claims: client.IDToken | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedNonce: pending.nonce,
        expectedState: state,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (error) {
      throw refuse('rejected', 'The identity provider did not confirm this sign-in; sign in again.', error);
    }
    if (!claims) throw refuse('no_id_token', 'The identity provider sent no ID token.');
    return { operator: await this.operatorFor(claims), returnTo: pending.returnTo };
  }

  private async operatorFor(claims: client.IDToken): Promise<Operator> {
    const subject = `${claims.iss} ${claims.sub}`;
    const email = typeof claims.email === 'string' ? normalizeLogin(claims.email) : undefined;
    const domain = email?.split('@')[1];
    const { allowedDomains } = this.config;
    if (
      allowedDomains.length > 0 &&
      (!domain || !allowedDomains.map((d) => d.toLowerCase()).includes(domain))
    ) {
      throw refuse('domain', `Sign-in from ${domain ?? 'an account without e-mail'} is not allowed here.`);
    }
    const role = this.claimedRole(claims);
    let operator = await this.operators.findBySubject(subject);
    if (!operator && email) {
      // An account made by `hub operators create` is bound to the issuer's subject at its first
      // sign-in, only on an e-mail address the issuer has verified.
      if (claims.email_verified !== true) throw refuse('unverified', `The issuer has not verified ${email}.`);
      operator = await this.operators.findByEmail(email);
      if (operator) await this.operators.bindSubject(operator.id, subject);
    }
    if (!operator) {
      if (!this.config.createOperators || !email) {
        throw refuse(
          'no_account',
          `No operator account for ${email ?? claims.sub}; ask an admin to create one.`,
        );
      }
      return this.operators.create({
        email,
        displayName: typeof claims.name === 'string' ? claims.name : undefined,
        role: role ?? this.config.defaultRole,
        tenants: this.claimedTenants(claims) ?? this.config.defaultTenants,
        oidcSubject: subject,
      });
    }
    if (operator.disabled) throw refuse('disabled', `The operator ${operator.email} is disabled.`);
    // The issuer is the source of truth for the role when it sends one.
    if (role && role !== operator.role) {
      operator = await this.operators.setRole(operator.email, role, this.claimedTenants(claims));
    }
    return operator;
  }

  private claimedRole(claims: client.IDToken): Role | undefined {
    const value = this.config.roleClaim ? claims[this.config.roleClaim] : undefined;
    return isRole(value) ? value : undefined;
  }

  private claimedTenants(claims: client.IDToken): string[] | undefined {
    const value = this.config.tenantsClaim ? claims[this.config.tenantsClaim] : undefined;
    return Array.isArray(value) && value.every((t) => typeof t === 'string') ? value : undefined;
  }
}
