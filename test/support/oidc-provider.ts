import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A port nobody listens on right now (the hub's redirect URI must be known before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface TestAccount {
  email: string;
  name: string;
  role?: string;
  emailVerified?: boolean;
}

export interface TestIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (the certified `oidc-provider`), in this process on a local port,
 * with its own login and consent pages (devInteractions: any password is accepted for a known
 * login). One confidential client, PKCE required; the ID token carries email, name and `hub_role`.
 */
export async function startTestIssuer(
  redirectUri: string,
  accounts: Record<string, TestAccount>,
): Promise<TestIssuer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'hub-test';
  const clientSecret = 'FAKE-oidc-client-secret-000000000000';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: { openid: ['sub', 'hub_role'], email: ['email', 'email_verified'], profile: ['name'] },
    // The hub reads the ID token alone: put the scope's claims in it.
    conformIdTokenClaims: false,
    cookies: { keys: ['FAKE-oidc-cookie-key-0000000000000'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const account = accounts[id];
      return {
        accountId: id,
        async claims() {
          return account
            ? {
                sub: id,
                email: account.email,
                email_verified: account.emailVerified ?? true,
                name: account.name,
                ...(account.role ? { hub_role: account.role } : {}),
              }
            : { sub: id };
        },
      };
    },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
