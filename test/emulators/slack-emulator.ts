import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { jsonField, readParams, sendJson } from './http-util';

/**
 * A local Slack Web API (https://api.slack.com/web) for auth.test, chat.postMessage, chat.update,
 * files.info (with the private download URL it points to) and apps.connections.open (with the
 * Socket Mode WebSocket it hands out: hello, envelopes, acks). Like Slack it answers HTTP 200 with
 * `ok:false` and an error code for refused calls (not_authed, invalid_auth, not_allowed_token_type,
 * channel_not_found, no_text, invalid_blocks, message_not_found, msg_too_long, file_not_found),
 * HTTP 429 with Retry-After when rate limited, 404 unknown_method, and a redirect to the sign-in
 * page for a file download without the bot token.
 */
export interface SlackEmulatorOptions {
  token: string;
  team?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /** Channels that answer channel_not_found. */
  missingChannels?: string[];
  /** App-level token (xapp-…) that apps.connections.open accepts. */
  appToken?: string;
  appId?: string;
}

export interface SlackEmulatedFile {
  id: string;
  name: string;
  mimetype: string;
  body: Buffer;
}

/** What the hub sent back over a Socket Mode connection: an acknowledgement of an envelope. */
export interface SocketAck {
  envelopeId: string;
  payload?: unknown;
  at: number;
}

export interface SlackCallRecord {
  method: string;
  params: Record<string, unknown>;
  at: number;
  status: number;
  error?: string;
}

export interface SlackPosted {
  channel: string;
  ts: string;
  text: string;
  thread_ts?: string;
  blocks?: unknown[];
  at: number;
}

export type InjectedSlackFailure =
  | { status: 429; retryAfter: number; times?: number }
  | { status: number; error?: string; times?: number };

/** Block Kit rules the emulator enforces (https://api.slack.com/reference/block-kit/blocks). */
export function blocksProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'invalid_blocks_format';
  if (blocks.length > 50) return 'invalid_blocks';
  for (const block of blocks as Array<Record<string, unknown>>) {
    switch (block.type) {
      case 'section': {
        const text = block.text as { type?: string; text?: string } | undefined;
        if (!text?.text || text.text.length > 3000) return 'invalid_blocks';
        break;
      }
      case 'actions': {
        const elements = block.elements as Array<Record<string, unknown>> | undefined;
        if (!elements?.length || elements.length > 25) return 'invalid_blocks';
        const ids = new Set<string>();
        for (const element of elements) {
          const label = (element.text as { text?: string } | undefined)?.text ?? '';
          const actionId = String(element.action_id ?? '');
          if (element.type !== 'button' || !label || label.length > 75) return 'invalid_blocks';
          if (actionId.length > 255 || ids.has(actionId)) return 'invalid_blocks';
          ids.add(actionId);
        }
        break;
      }
      case 'image':
        if (!block.image_url || !block.alt_text) return 'invalid_blocks';
        break;
      case 'header':
      case 'divider':
      case 'context':
        break;
      default:
        return 'invalid_blocks';
    }
  }
  return undefined;
}

export class SlackEmulator {
  readonly calls: SlackCallRecord[] = [];
  readonly posted: SlackPosted[] = [];
  private readonly failures = new Map<string, InjectedSlackFailure[]>();
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: Error) =>
      sendJson(response, 500, { ok: false, error: error.message }),
    );
  });
  readonly files = new Map<string, SlackEmulatedFile>();
  readonly downloads: Array<{ fileId: string; status: number }> = [];
  readonly acks: SocketAck[] = [];
  /** Open Socket Mode connections, oldest first. */
  readonly sockets: WebSocket[] = [];
  private readonly tickets = new Set<string>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private clock = 1_700_000_000;
  private sequence = 0;
  url = '';

  constructor(private readonly options: SlackEmulatorOptions) {}

  async start(): Promise<this> {
    this.server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const ticket = url.searchParams.get('ticket') ?? '';
      // Each URL from apps.connections.open is good for one connection.
      if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.openSocket(ws));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  failNext(method: string, failure: InjectedSlackFailure): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < (failure.times ?? 1); i++) list.push(failure);
    this.failures.set(method, list);
  }

  /** A file a customer shared; files.info describes it and its url_private_download serves it. */
  addFile(file: Omit<SlackEmulatedFile, 'mimetype'> & { mimetype?: string }): void {
    this.files.set(file.id, { mimetype: 'image/png', ...file });
  }

  /**
   * Push one envelope over the newest open Socket Mode connection, as Slack does
   * (https://api.slack.com/apis/socket-mode#events): `events_api` carries an Events API
   * `event_callback`, `interactive` a block_actions payload. Returns the envelope_id to ack.
   */
  pushEnvelope(
    payload: unknown,
    options: { type?: 'events_api' | 'interactive' | 'slash_commands'; retryAttempt?: number } = {},
  ): string {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no Socket Mode connection is open');
    const envelopeId = randomUUID();
    ws.send(
      JSON.stringify({
        envelope_id: envelopeId,
        payload,
        type: options.type ?? 'events_api',
        accepts_response_payload: false,
        retry_attempt: options.retryAttempt ?? 0,
        retry_reason: options.retryAttempt ? 'timeout' : '',
      }),
    );
    return envelopeId;
  }

  /** Ask every connection to reconnect (`type: disconnect`), as Slack does before recycling a host. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason }));
  }

  private openSocket(ws: WebSocket): void {
    this.sockets.push(ws);
    ws.on('close', () => this.sockets.splice(this.sockets.indexOf(ws), 1));
    ws.on('message', (data) => {
      try {
        const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: unknown };
        if (message.envelope_id)
          this.acks.push({ envelopeId: message.envelope_id, payload: message.payload, at: Date.now() });
      } catch {
        // Slack drops frames it cannot parse.
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.length,
        debug_info: { host: 'applink-emulator', approximate_connection_time: 18060 },
        connection_info: { app_id: this.options.appId ?? 'A00FAKEAPP01' },
      }),
    );
  }

  private download(pathname: string, request: IncomingMessage, response: ServerResponse): void {
    const fileId = /^\/files-pri\/[^-/]+-([^/]+)\//.exec(pathname)?.[1] ?? '';
    const file = this.files.get(fileId);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== this.options.token) {
      this.downloads.push({ fileId, status: 302 });
      response.writeHead(302, { location: `/?redir=${encodeURIComponent(pathname)}` });
      response.end();
      return;
    }
    this.downloads.push({ fileId, status: file ? 200 : 404 });
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<html><body>File not found</body></html>');
      return;
    }
    response.writeHead(200, { 'content-type': file.mimetype, 'content-length': String(file.body.length) });
    response.end(file.body);
  }

  private fileObject(file: SlackEmulatedFile) {
    const base = this.url.replace(/\/api\/$/, '');
    const team = this.options.teamId ?? 'T00FAKE00AA';
    const name = encodeURIComponent(file.name);
    return {
      id: file.id,
      name: file.name,
      title: file.name,
      mimetype: file.mimetype,
      size: file.body.length,
      url_private: `${base}/files-pri/${team}-${file.id}/${name}`,
      url_private_download: `${base}/files-pri/${team}-${file.id}/download/${name}`,
    };
  }

  callsOf(method: string): SlackCallRecord[] {
    return this.calls.filter((call) => call.method === method);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/files-pri/')) return this.download(url.pathname, request, response);
    const method = url.pathname.replace(/^\/api\//, '');
    const params = await readParams(request, url).catch(() => ({}) as Record<string, unknown>);
    const record: SlackCallRecord = { method, params, at: Date.now(), status: 200 };
    this.calls.push(record);
    const refuse = (error: string, status = 200, headers: Record<string, string> = {}) => {
      record.status = status;
      record.error = error;
      sendJson(response, status, { ok: false, error }, headers);
    };
    const ok = (body: Record<string, unknown>) => sendJson(response, 200, { ok: true, ...body });
    const methods = ['auth.test', 'chat.postMessage', 'chat.update', 'files.info', 'apps.connections.open'];
    if (!methods.includes(method)) return refuse('unknown_method', 404);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof params.token === 'string' ? params.token : undefined);
    if (!token) return refuse('not_authed');
    // apps.connections.open takes only an app-level token; every other method only the bot token.
    if (method === 'apps.connections.open') {
      if (token === this.options.token) return refuse('not_allowed_token_type');
      if (!this.options.appToken || token !== this.options.appToken) return refuse('invalid_auth');
    } else if (token !== this.options.token) {
      return refuse(token === this.options.appToken ? 'not_allowed_token_type' : 'invalid_auth');
    }
    const injected = this.failures.get(method)?.shift();
    if (injected) {
      if (injected.status === 429) {
        return refuse('ratelimited', 429, {
          'retry-after': String((injected as { retryAfter: number }).retryAfter),
        });
      }
      return refuse((injected as { error?: string }).error ?? 'internal_error', injected.status);
    }
    switch (method) {
      case 'apps.connections.open': {
        const ticket = randomUUID();
        this.tickets.add(ticket);
        const port = (this.server.address() as AddressInfo).port;
        return ok({
          url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${this.options.appId ?? 'A00FAKEAPP01'}`,
        });
      }
      case 'files.info': {
        const file = this.files.get(String(params.file ?? ''));
        if (!file) return refuse('file_not_found');
        return ok({ file: this.fileObject(file), comments: [], response_metadata: { next_cursor: '' } });
      }
      case 'auth.test':
        return ok({
          url: 'https://fake-workspace.slack.com/',
          team: this.options.team ?? 'Fake Workspace',
          user: 'fakehubbot',
          team_id: this.options.teamId ?? 'T00FAKE00AA',
          user_id: this.options.botUserId ?? 'U00FAKEBOT01',
          bot_id: this.options.botId ?? 'B00FAKEBOT01',
          is_enterprise_install: false,
        });
      case 'chat.postMessage': {
        const problem = this.messageProblem(params);
        if (problem) return refuse(problem);
        const posted: SlackPosted = {
          channel: String(params.channel),
          ts: this.nextTs(),
          text: String(params.text ?? ''),
          ...(params.thread_ts ? { thread_ts: String(params.thread_ts) } : {}),
          ...(params.blocks ? { blocks: jsonField(params.blocks) as unknown[] } : {}),
          at: Date.now(),
        };
        this.posted.push(posted);
        return ok({ channel: posted.channel, ts: posted.ts, message: this.toMessage(posted) });
      }
      case 'chat.update': {
        const existing = this.posted.find((p) => p.channel === params.channel && p.ts === params.ts);
        if (!params.channel) return refuse('channel_not_found');
        if (!existing) return refuse('message_not_found');
        const problem = this.messageProblem(params);
        if (problem) return refuse(problem);
        existing.text = String(params.text ?? '');
        if (params.blocks) existing.blocks = jsonField(params.blocks) as unknown[];
        return ok({
          channel: existing.channel,
          ts: existing.ts,
          text: existing.text,
          message: this.toMessage(existing),
        });
      }
    }
  }

  private messageProblem(params: Record<string, unknown>): string | undefined {
    const channel = typeof params.channel === 'string' ? params.channel : '';
    if (!/^[CDG][A-Z0-9]+$/.test(channel) || this.options.missingChannels?.includes(channel))
      return 'channel_not_found';
    const blocks = params.blocks === undefined ? undefined : jsonField(params.blocks);
    const text = typeof params.text === 'string' ? params.text : '';
    if (!text && blocks === undefined) return 'no_text';
    if (text.length > 40_000) return 'msg_too_long';
    if (blocks !== undefined) return blocksProblem(blocks);
    return undefined;
  }

  private nextTs(): string {
    this.clock += 1;
    return `${this.clock}.${String(++this.sequence).padStart(6, '0')}`;
  }

  private toMessage(posted: SlackPosted) {
    return {
      type: 'message',
      user: this.options.botUserId ?? 'U00FAKEBOT01',
      bot_id: this.options.botId ?? 'B00FAKEBOT01',
      text: posted.text,
      ts: posted.ts,
      ...(posted.thread_ts ? { thread_ts: posted.thread_ts } : {}),
      ...(posted.blocks ? { blocks: posted.blocks } : {}),
    };
  }
}
