import { randomBytes } from 'node:crypto';
import {
  basicHeader,
  type EmulatorReply,
  type EmulatorRequest,
  type HelpdeskEmulator,
  startHelpdeskServer,
} from './helpdesk-faults';

/**
 * A local ServiceNow instance (the Table API subset the hub uses): incident create, query by
 * encoded query (`field=value^...^ORDERBYfield`), read, PATCH with the journal fields `comments`
 * and `work_notes` (kept as sys_journal_field rows), state codes, priority derived from urgency ×
 * impact, and the resolution data policy (403 "Data Policy Exception" without close_code and
 * close_notes). Auth: basic, or a bearer token from /oauth_token.do (client credentials).
 * Errors use ServiceNow's `{error: {message, detail}, status: "failure"}`: 400, 401, 403, 404,
 * 409, 429 with Retry-After, 5xx.
 */
export interface ServiceNowEmulatorOptions {
  username: string;
  password: string;
  oauth?: { clientId: string; clientSecret: string; expiresIn?: number };
}

export type Row = Record<string, string>;

export interface ServiceNowEmulator extends HelpdeskEmulator {
  incidents: Row[];
  journal: Row[];
  tokensIssued(): number;
  /** Forget issued tokens, as after their expiry. */
  expireTokens(): void;
}

const failure = (message: string, detail: string) => ({ error: { message, detail }, status: 'failure' });
const ERRORS: Record<number, unknown> = {
  400: failure('Invalid request', 'The request body is not valid'),
  401: failure('User Not Authenticated', 'Required to provide Auth information'),
  403: failure('Operation Failed', 'ACL restricts the operation'),
  404: failure('No Record found', "Record doesn't exist or ACL restricts the record retrieval"),
  409: failure('Conflict', 'The record was updated by another transaction'),
  422: failure('Invalid request', 'The request body is not valid'),
  429: failure('Too Many Requests', 'Rate limit exceeded for this user'),
};
const PRIORITY: Record<string, string> = {
  '1,1': '1',
  '1,2': '2',
  '2,1': '2',
  '1,3': '3',
  '2,2': '3',
  '3,1': '3',
  '2,3': '4',
  '3,2': '4',
  '3,3': '5',
};

/** "2026-11-01 10:00:00", the Table API's date-time in UTC. */
const glideNow = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

/** A tiny subset of encoded queries: field=value, fieldINa,b, ORDERBYfield, joined by ^. */
function queryRows(rows: Row[], encoded: string): Row[] {
  let result = [...rows];
  for (const term of encoded.split('^').filter(Boolean)) {
    const orderBy = /^ORDERBY(DESC)?(\w+)$/.exec(term);
    if (orderBy) {
      const [, desc, field] = orderBy as unknown as [string, string | undefined, string];
      // Stable sort: rows created in the same second keep their insertion order.
      result = result
        .map((row, index) => ({ row, index }))
        .sort((a, b) => {
          const order = (a.row[field] ?? '').localeCompare(b.row[field] ?? '') || a.index - b.index;
          return desc ? -order : order;
        })
        .map((x) => x.row);
      continue;
    }
    const inList = /^(\w+)IN(.*)$/.exec(term);
    if (inList) {
      const values = (inList[2] ?? '').split(',');
      result = result.filter((row) => values.includes(row[inList[1] as string] ?? ''));
      continue;
    }
    const equals = /^(\w+)=(.*)$/.exec(term);
    if (!equals) throw new Error(`unsupported encoded query term ${term}`);
    result = result.filter((row) => row[equals[1] as string] === equals[2]);
  }
  return result;
}

export async function startServiceNowEmulator(
  options: ServiceNowEmulatorOptions,
): Promise<ServiceNowEmulator> {
  const incidents: Row[] = [];
  const journal: Row[] = [];
  const tokens = new Set<string>();
  let issued = 0;
  let nextNumber = 10_001;
  const basic = basicHeader(options.username, options.password);

  const pick = (row: Row, fields: string | null) =>
    fields ? Object.fromEntries(fields.split(',').map((f) => [f, row[f] ?? ''])) : row;

  const token = (req: EmulatorRequest): EmulatorReply => {
    const form = new URLSearchParams(req.raw);
    let client = { id: form.get('client_id'), secret: form.get('client_secret') };
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(header.slice(6), 'base64').toString().split(':');
      client = { id: decodeURIComponent(id ?? ''), secret: decodeURIComponent(secret ?? '') };
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant_type' } };
    }
    if (
      !options.oauth ||
      client.id !== options.oauth.clientId ||
      client.secret !== options.oauth.clientSecret
    ) {
      return { status: 401, body: { error: 'access_denied', error_description: 'access_denied' } };
    }
    const accessToken = randomBytes(16).toString('hex');
    tokens.add(accessToken);
    issued += 1;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        scope: 'useraccount',
        token_type: 'Bearer',
        expires_in: options.oauth.expiresIn ?? 1799,
      },
    };
  };

  const write = (row: Row, input: Record<string, unknown>) => {
    for (const [field, value] of Object.entries(input)) {
      if (field === 'comments' || field === 'work_notes') {
        if (value) {
          journal.push({
            sys_id: randomBytes(16).toString('hex'),
            element_id: row.sys_id as string,
            name: 'incident',
            element: field,
            value: String(value),
            sys_created_on: glideNow(),
          });
        }
        continue;
      }
      if (field.startsWith('sys_')) continue; // system fields are read-only
      row[field] = String(value);
    }
    row.priority = PRIORITY[`${row.urgency ?? '3'},${row.impact ?? '3'}`] ?? '5';
    row.sys_updated_on = glideNow();
  };

  const server = await startHelpdeskServer({
    authorize(req) {
      if (req.url.pathname === '/oauth_token.do') return undefined;
      const header = req.headers.authorization ?? '';
      if (header === basic) return undefined;
      if (header.startsWith('Bearer ') && tokens.has(header.slice(7))) return undefined;
      return { status: 401, body: ERRORS[401] };
    },
    errorBody: (status) => ERRORS[status] ?? failure('Internal Server Error', 'Transaction failed'),
    handle(req) {
      const path = req.url.pathname;
      const params = req.url.searchParams;
      if (path === '/oauth_token.do' && req.method === 'POST') return token(req);
      const fields = params.get('sysparm_fields');
      if (path === '/api/now/table/sys_journal_field' && req.method === 'GET') {
        const rows = queryRows(journal, params.get('sysparm_query') ?? '');
        return { status: 200, body: { result: rows.map((r) => pick(r, fields)) } };
      }
      const match = /^\/api\/now\/table\/incident(?:\/([0-9a-f]{32}))?$/.exec(path);
      if (!match) return { status: 400, body: failure('Invalid table', 'Only incident is emulated') };
      if (!match[1] && req.method === 'GET') {
        const rows = queryRows(incidents, params.get('sysparm_query') ?? '');
        const limit = Number(params.get('sysparm_limit') ?? 10_000);
        return { status: 200, body: { result: rows.slice(0, limit).map((r) => pick(r, fields)) } };
      }
      if (!match[1] && req.method === 'POST') {
        const row: Row = {
          sys_id: randomBytes(16).toString('hex'),
          number: `INC${String(nextNumber++).padStart(7, '0')}`,
          state: '1',
          urgency: '3',
          impact: '3',
          short_description: '',
          description: '',
          correlation_id: '',
          sys_created_on: glideNow(),
        };
        write(row, req.json);
        incidents.push(row);
        return { status: 201, body: { result: pick(row, fields) } };
      }
      const row = incidents.find((r) => r.sys_id === match[1]);
      if (!row) return { status: 404, body: ERRORS[404] };
      if (req.method === 'GET') return { status: 200, body: { result: pick(row, fields) } };
      if (req.method === 'PATCH' || req.method === 'PUT') {
        const state = String(req.json.state ?? row.state);
        const resolving = state === '6' || state === '7';
        if (
          resolving &&
          (!(req.json.close_code ?? row.close_code) || !(req.json.close_notes ?? row.close_notes))
        ) {
          return {
            status: 403,
            body: failure(
              'Operation Failed',
              'Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes',
            ),
          };
        }
        write(row, req.json);
        return { status: 200, body: { result: pick(row, fields) } };
      }
      return { status: 405, body: failure('Method not Supported', req.method) };
    },
  });

  return {
    url: server.url,
    requests: server.requests,
    incidents,
    journal,
    tokensIssued: () => issued,
    expireTokens: () => tokens.clear(),
    fail: server.fail,
    ticketCount: () => incidents.length,
    reset() {
      incidents.length = 0;
      journal.length = 0;
      server.clear();
    },
    close: server.close,
  };
}
