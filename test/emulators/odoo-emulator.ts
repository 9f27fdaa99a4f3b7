import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Odoo speaking the External RPC API over JSON-RPC (POST /jsonrpc): common.authenticate
 * (uid, or false for a wrong db/login/key), object.execute_kw with search_read / read on sale.order,
 * sale.order.line, res.partner, product.product and stock.picking. Domains: implicit AND, prefix '|',
 * operators = != in ilike =ilike. Errors as Odoo sends them: HTTP 200 with a JSON-RPC error object
 * (AccessDenied for a wrong key on execute_kw, ValueError for an unknown field); an unknown order is
 * an empty search result. Injected failures: an HTTP status (429 with Retry-After, 5xx, as a proxy in
 * front of Odoo answers), a JSON-RPC error, or no answer at all.
 */
type Value = string | number | boolean | Value[] | null;
type Row = Record<string, Value>;

export const ODOO_DATA: Record<string, Row[]> = {
  'res.partner': [
    { id: 7, name: 'Alex Demo', email: 'Alex@Example.com', phone: '+1 555-0100', mobile: false },
    { id: 8, name: 'Sam Sample', email: 'sam@example.org', phone: false, mobile: '+44 20 7946 0000' },
  ],
  'product.product': [
    { id: 31, default_code: 'KB-01', display_name: '[KB-01] Mechanical keyboard' },
    { id: 32, default_code: false, display_name: 'Gift wrap' },
  ],
  'sale.order': [
    {
      id: 101,
      name: 'S00042',
      client_order_ref: 'WEB-9',
      state: 'sale',
      date_order: '2026-10-28 09:14:00',
      amount_total: 89.5,
      currency_id: [1, 'EUR'],
      partner_id: [7, 'Alex Demo'],
    },
    {
      id: 102,
      name: 'S00043',
      client_order_ref: false,
      state: 'draft',
      date_order: '2026-11-02 10:00:00',
      amount_total: 15,
      currency_id: [1, 'EUR'],
      partner_id: [7, 'Alex Demo'],
    },
    {
      id: 103,
      name: 'S00044',
      client_order_ref: false,
      state: 'cancel',
      date_order: '2026-09-01 08:00:00',
      amount_total: 20,
      currency_id: [2, 'GBP'],
      partner_id: [8, 'Sam Sample'],
    },
  ],
  'sale.order.line': [
    {
      id: 1,
      order_id: [101, 'S00042'],
      product_id: [31, '[KB-01] Mechanical keyboard'],
      name: 'Mechanical keyboard',
      product_uom_qty: 1,
      display_type: false,
    },
    {
      id: 2,
      order_id: [101, 'S00042'],
      product_id: [32, 'Gift wrap'],
      name: 'Gift wrap',
      product_uom_qty: 2,
      display_type: false,
    },
    {
      id: 3,
      order_id: [101, 'S00042'],
      product_id: false,
      name: 'Shipping notes',
      product_uom_qty: 0,
      display_type: 'line_note',
    },
    {
      id: 4,
      order_id: [102, 'S00043'],
      product_id: [31, '[KB-01] Mechanical keyboard'],
      name: 'Mechanical keyboard',
      product_uom_qty: 1,
      display_type: false,
    },
  ],
  'stock.picking': [
    {
      id: 501,
      origin: 'S00042',
      picking_type_code: 'outgoing',
      state: 'done',
      date_done: '2026-10-29 15:30:00',
      carrier_id: [3, 'DHL Express'],
      carrier_tracking_ref: 'JD014600003828',
      carrier_tracking_url: 'https://www.dhl.com/track?AWB=JD014600003828',
    },
    {
      id: 502,
      origin: 'S00042',
      picking_type_code: 'incoming',
      state: 'assigned',
      date_done: false,
      carrier_id: false,
      carrier_tracking_ref: false,
      carrier_tracking_url: false,
    },
  ],
};

export interface OdooEmulatorOptions {
  db: string;
  login: string;
  apiKey: string;
  /** Fields a model lacks on this server (e.g. stock.picking carrier fields without the Delivery module). */
  missingFields?: Record<string, string[]>;
}

type Failure = {
  status?: number;
  retryAfter?: number;
  hang?: boolean;
  rpcError?: { name: string; message: string };
  times: number;
};

export interface OdooEmulator {
  url: string;
  /** Every JSON-RPC call: service, method and, for execute_kw, model and model method. */
  calls: Array<{ service: string; method: string; model?: string; modelMethod?: string }>;
  fail(failure: Omit<Failure, 'times'> & { times?: number }): void;
  close(): Promise<void>;
}

export async function startOdooEmulator(options: OdooEmulatorOptions): Promise<OdooEmulator> {
  const uid = 2;
  const failures: Failure[] = [];
  const calls: OdooEmulator['calls'] = [];
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const rpcError = (name: string, message: string) => ({
    code: 200,
    message: 'Odoo Server Error',
    data: {
      name,
      debug: `Traceback (most recent call last):\n${name}: ${message}`,
      message,
      arguments: [message],
      context: {},
    },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.url !== '/jsonrpc' || req.method !== 'POST') return send(res, 404, { error: 'Not Found' });
    const request = JSON.parse(raw) as {
      id?: number;
      params: { service: string; method: string; args: Value[] };
    };
    const { service, method, args } = request.params;
    const reply = (payload: { result?: unknown; error?: unknown }) =>
      send(res, 200, { jsonrpc: '2.0', id: request.id ?? null, ...payload });
    calls.push({
      service,
      method,
      model: method === 'execute_kw' ? String(args[3]) : undefined,
      modelMethod: method === 'execute_kw' ? String(args[4]) : undefined,
    });
    const failure = failures[0];
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) failures.shift();
      if (failure.hang) return;
      if (failure.rpcError)
        return reply({ error: rpcError(failure.rpcError.name, failure.rpcError.message) });
      const headers: Record<string, string> =
        failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
      return send(res, failure.status ?? 502, { error: 'injected' }, headers);
    }
    const [db, login, key] = args as [string, string | number, string];
    if (service === 'common' && method === 'authenticate') {
      const ok = db === options.db && login === options.login && key === options.apiKey;
      return reply({ result: ok ? uid : false });
    }
    if (service !== 'object' || method !== 'execute_kw') {
      return reply({ error: rpcError('builtins.NotImplementedError', `${service}.${method}`) });
    }
    if (db !== options.db || login !== uid || key !== options.apiKey)
      return reply({ error: rpcError('odoo.exceptions.AccessDenied', 'Access Denied') });
    const [, , , model, modelMethod, positional, kwargs] = args as [
      string,
      number,
      string,
      string,
      string,
      Value[],
      { fields?: string[]; limit?: number; order?: string },
    ];
    const rows = ODOO_DATA[model];
    if (!rows) return reply({ error: rpcError('builtins.KeyError', `'${model}'`) });
    const missing = new Set(options.missingFields?.[model] ?? []);
    const fields = kwargs.fields ?? Object.keys(rows[0] ?? {});
    const unknown = fields.find((f) => missing.has(f) || !(f in (rows[0] ?? {})));
    if (unknown)
      return reply({
        error: rpcError('builtins.ValueError', `Invalid field '${unknown}' on model '${model}'`),
      });
    let found: Row[];
    if (modelMethod === 'read') {
      const ids = positional[0] as number[];
      found = rows.filter((r) => ids.includes(r.id as number));
    } else if (modelMethod === 'search_read') {
      found = rows.filter((r) => matches(r, positional[0] as Value[]));
      if (kwargs.order) {
        const [field, direction] = kwargs.order.split(' ') as [string, string | undefined];
        found = [...found].sort((a, b) => String(a[field]).localeCompare(String(b[field])));
        if (direction?.toLowerCase() === 'desc') found.reverse();
      }
      if (kwargs.limit) found = found.slice(0, kwargs.limit);
    } else {
      return reply({ error: rpcError('builtins.AttributeError', `'${model}' has no method ${modelMethod}`) });
    }
    return reply({
      result: found.map((r) => Object.fromEntries([['id', r.id], ...fields.map((f) => [f, r[f]])])),
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    fail: (failure) => failures.push({ times: 1, ...failure }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Odoo domains: prefix-notation '|' and '&', terms [field, operator, value], AND by default. */
function matches(row: Row, domain: Value[]): boolean {
  const stack: boolean[] = [];
  for (const item of [...domain].reverse()) {
    if (item === '|' || item === '&') {
      const a = stack.pop() ?? true;
      const b = stack.pop() ?? true;
      stack.push(item === '|' ? a || b : a && b);
    } else stack.push(term(row, item as [string, string, Value]));
  }
  return stack.every(Boolean);
}

function term(row: Row, [field, operator, value]: [string, string, Value]): boolean {
  const actual = Array.isArray(row[field]) ? (row[field] as Value[])[0] : row[field];
  switch (operator) {
    case '=':
      return actual === value;
    case '!=':
      return actual !== value;
    case 'in':
      return (value as Value[]).includes(actual ?? false);
    case 'ilike':
      return typeof actual === 'string' && actual.toLowerCase().includes(String(value).toLowerCase());
    case '=ilike':
      return typeof actual === 'string' && actual.toLowerCase() === String(value).toLowerCase();
    default:
      throw new Error(`operator ${operator} not emulated`);
  }
}
