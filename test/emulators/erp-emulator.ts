import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local ERP with a JSON API shaped unlike the hub's Order (so the REST adapter's JSONPath mapping
 * is exercised): OAuth2 client-credentials token endpoint (RFC 6749 §4.4), bearer-protected
 * `GET /api/v1/sales-orders/{number}` and `GET /api/v1/sales-orders?customerEmail=&customerPhone=`.
 * Errors: 401 on a missing/expired token, 404 unknown order, 429 with Retry-After, 5xx, hangs.
 */
export interface ErpEmulatorOptions {
  clientId: string;
  clientSecret: string;
  /** Seconds a token lives. */
  tokenTtlS?: number;
}

export interface ErpEmulator {
  url: string;
  tokensIssued: number;
  requests: Array<{ method: string; path: string; authorization?: string }>;
  fail(failure: { status?: number; retryAfter?: number; hang?: boolean; times?: number }): void;
  /** Invalidate every token issued so far (as a server restart or key rotation would). */
  revokeTokens(): void;
  close(): Promise<void>;
}

export const ERP_ORDERS = [
  {
    header: { number: 'XX12345678', state: 'SHIPPED_PARTIAL', created: '2026-10-28T09:14:00Z' },
    buyer: { mail: 'Alex@Example.com', mobile: '+1 555 0100', fullName: 'Alex Demo' },
    items: [{ article: 'KB-01', title: 'Mechanical keyboard', qty: '1' }],
    amount: { gross: 89, cur: 'USD' },
    delivery: { forwarder: 'DHL', trackingId: 'JD014600003828', eta: '2026-11-03' },
  },
  {
    header: {
      number: 'AB00000002',
      state: 'CLOSED',
      created: '2026-08-01T12:00:00Z',
      closed: '2026-08-04T09:00:00Z',
    },
    buyer: { mail: 'sam@example.org', mobile: '+44 20 7946 0000', fullName: 'Sam Sample' },
    items: [{ article: 'CB-04', title: 'USB-C cable', qty: '3' }],
    amount: { gross: 15, cur: 'GBP' },
  },
];

export async function startErpEmulator(options: ErpEmulatorOptions): Promise<ErpEmulator> {
  const tokens = new Map<string, number>();
  const failures: Array<{ status?: number; retryAfter?: number; hang?: boolean; times: number }> = [];
  const state = { tokensIssued: 0 };
  const requests: ErpEmulator['requests'] = [];
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://erp');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      authorization: req.headers.authorization,
    });
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const failure = failures[0];
    if (failure && url.pathname !== '/oauth/token') {
      failure.times -= 1;
      if (failure.times <= 0) failures.shift();
      if (failure.hang) return;
      const headers: Record<string, string> =
        failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
      return send(res, failure.status ?? 500, { error: 'failure injected' }, headers);
    }
    if (url.pathname === '/oauth/token' && req.method === 'POST') {
      const expected = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;
      const form = new URLSearchParams(raw);
      if (req.headers.authorization !== expected) return send(res, 401, { error: 'invalid_client' });
      if (form.get('grant_type') !== 'client_credentials')
        return send(res, 400, { error: 'unsupported_grant_type' });
      const token = `tok-${++state.tokensIssued}`;
      const ttl = options.tokenTtlS ?? 3600;
      tokens.set(token, Date.now() + ttl * 1000);
      return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl });
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expiry = bearer ? tokens.get(bearer) : undefined;
    if (!expiry || expiry < Date.now())
      return send(
        res,
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    const one = /^\/api\/v1\/sales-orders\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const order = ERP_ORDERS.find((o) => o.header.number === decodeURIComponent(one[1] ?? ''));
      return order ? send(res, 200, { data: order }) : send(res, 404, { error: 'order not found' });
    }
    if (url.pathname === '/api/v1/sales-orders') {
      const email = url.searchParams.get('customerEmail')?.toLowerCase();
      const phone = url.searchParams.get('customerPhone');
      const found = ERP_ORDERS.filter(
        (o) => (email && o.buyer.mail.toLowerCase() === email) || (phone && o.buyer.mobile === phone),
      );
      return send(res, 200, { data: { results: found, total: found.length } });
    }
    return send(res, 404, { error: 'no such endpoint' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get tokensIssued() {
      return state.tokensIssued;
    },
    requests,
    fail: (failure) => failures.push({ times: 1, ...failure }),
    revokeTokens: () => tokens.clear(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
