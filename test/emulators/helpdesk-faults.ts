import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What the helpdesk emulators (Freshdesk, Jira Service Management, ServiceNow, webhook sink) share:
 * a local HTTP server, a record of the requests it got, and injected faults — an error status
 * (with Retry-After for 429), a request that is never answered, or one whose work is committed
 * before the answer is lost or never sent (the case idempotent creation exists for).
 */
export interface HelpdeskFault {
  status: number;
  retryAfter?: number;
  /** Only requests with this method (default any). */
  method?: string;
  /** Only requests whose path (without query) matches. */
  path?: RegExp;
  /** How many requests it hits (default 1). */
  times?: number;
  /** Never answer: the client's deadline must end the call. */
  hang?: boolean;
  /** Do the work first, then fail (or hang, with `hang`): a response lost on the way back. */
  afterCommit?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface EmulatorReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface EmulatorRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are free-form JSON, as on the real servers
  json: Record<string, any>;
}

/** The part of every helpdesk emulator the shared conformance and error tests drive. */
export interface HelpdeskEmulator {
  url: string;
  requests: RecordedRequest[];
  fail(fault: HelpdeskFault): void;
  /** Tickets the helpdesk holds now. */
  ticketCount(): number;
  /** Forget tickets, requests and faults. */
  reset(): void;
  close(): Promise<void>;
}

export interface HelpdeskServerOptions {
  /** An answer refusing the request (401), or undefined when its credentials are right. */
  authorize(request: EmulatorRequest): EmulatorReply | undefined;
  /** The platform's error body for an injected status. */
  errorBody(status: number): unknown;
  handle(request: EmulatorRequest): EmulatorReply | Promise<EmulatorReply>;
}

export interface HelpdeskServer {
  url: string;
  requests: RecordedRequest[];
  fail(fault: HelpdeskFault): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startHelpdeskServer(options: HelpdeskServerOptions): Promise<HelpdeskServer> {
  const requests: RecordedRequest[] = [];
  const faults: HelpdeskFault[] = [];
  const sockets = new Set<Socket>();

  const take = (method: string, path: string): HelpdeskFault | undefined => {
    const index = faults.findIndex(
      (f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)),
    );
    if (index < 0) return undefined;
    const fault = faults[index] as HelpdeskFault;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return fault;
  };

  const send = (res: ServerResponse, reply: EmulatorReply) => {
    if (reply.status === 204 || reply.body === undefined) {
      res.writeHead(reply.status, reply.headers ?? {}).end();
      return;
    }
    res
      .writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers })
      .end(JSON.stringify(reply.body));
  };

  const faultReply = (fault: HelpdeskFault): EmulatorReply => ({
    status: fault.status,
    body: options.errorBody(fault.status),
    headers: fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {},
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    let raw = '';
    for await (const chunk of req) raw += chunk;
    requests.push({ method, path: url.pathname + url.search, headers: req.headers, body: raw });
    const fault = take(method, url.pathname);
    if (fault && !fault.afterCommit) {
      if (fault.hang) return;
      return send(res, faultReply(fault));
    }
    let json = {};
    if (raw && (req.headers['content-type'] ?? '').includes('json')) {
      try {
        json = JSON.parse(raw);
      } catch {
        return send(res, { status: 400, body: options.errorBody(400) });
      }
    }
    const request: EmulatorRequest = { method, url, headers: req.headers, raw, json };
    const refused = options.authorize(request);
    if (refused) return send(res, refused);
    const reply = await options.handle(request);
    if (fault?.hang) return;
    send(res, fault ? faultReply(fault) : reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, { status: 500, body: { error: String(error) } }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail: (fault) => faults.push({ times: 1, ...fault }),
    clear() {
      requests.length = 0;
      faults.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A Basic authorization header, as the emulators expect it. */
export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Plain text of an HTML body, the way helpdesks derive `body_text`/`description_text`. */
export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|pre|li)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n+$/, '');
}
