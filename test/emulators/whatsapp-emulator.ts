import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from './http-util';

/**
 * A local Graph API for the WhatsApp Cloud API calls the hub makes
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference): `POST /{version}/{phone-number-id}/messages`
 * (text, interactive button/list, image/document by link, template, read receipt with typing
 * indicator), `GET /{version}/{phone-number-id}`, `GET /{version}/{media-id}` and the media download
 * URL it returns. Errors come in Graph's shape `{error: {message, type, code, error_subcode, fbtrace_id}}`:
 * 401 with code 190 for a wrong token, 400 with code 100 for bad parameters or unknown objects,
 * 400 code 132001 for an unknown template, and injected failures (429 with code 130429 or 80007,
 * optionally with Retry-After; 5xx with code 131000).
 */
export interface WhatsAppEmulatorOptions {
  accessToken: string;
  phoneNumberId: string;
  displayPhoneNumber?: string;
  /** Approved templates, as `name:language`. */
  templates?: string[];
}

export interface GraphCallRecord {
  method: string;
  path: string;
  body?: Record<string, unknown>;
  status: number;
  at: number;
}

export interface SentWhatsAppMessage {
  id: string;
  to: string;
  type: string;
  payload: Record<string, unknown>;
  at: number;
}

export interface InjectedGraphFailure {
  status: number;
  code: number;
  message?: string;
  retryAfterSeconds?: number;
  times?: number;
}

interface StoredMedia {
  data: Buffer;
  mimeType: string;
}

const GRAPH_PATH = /^\/(v\d+\.\d+)\/([^/]+)(?:\/([a-z_]+))?$/;

export class WhatsAppEmulator {
  readonly calls: GraphCallRecord[] = [];
  readonly sent: SentWhatsAppMessage[] = [];
  readonly typing: Array<{ messageId: string; at: number }> = [];
  readonly media = new Map<string, StoredMedia>();
  url = '';
  private readonly failures: InjectedGraphFailure[] = [];
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: Error) =>
      this.graphError(response, 500, 1, `An unknown error occurred: ${error.message}`),
    );
  });
  private nextId = 1;

  constructor(private readonly options: WhatsAppEmulatorOptions) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The next `times` message sends fail this way. */
  failNextSend(failure: InjectedGraphFailure): void {
    for (let i = 0; i < (failure.times ?? 1); i++) this.failures.push(failure);
  }

  /** Media a customer "uploaded": inbound webhooks refer to it by this id. */
  addMedia(id: string, data: Buffer, mimeType: string): void {
    this.media.set(id, { data, mimeType });
  }

  sentTo(customer: string): SentWhatsAppMessage[] {
    return this.sent.filter((message) => message.to === customer);
  }

  private graphError(
    response: ServerResponse,
    status: number,
    code: number,
    message: string,
    headers: Record<string, string> = {},
    subcode?: number,
  ) {
    sendJson(
      response,
      status,
      {
        error: {
          message,
          type: code === 190 ? 'OAuthException' : status >= 500 ? 'GraphMethodException' : 'OAuthException',
          code,
          ...(subcode ? { error_subcode: subcode } : {}),
          fbtrace_id: randomBytes(8).toString('base64url'),
        },
      },
      headers,
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const record: GraphCallRecord = {
      method: request.method ?? 'GET',
      path: url.pathname,
      status: 200,
      at: Date.now(),
    };
    this.calls.push(record);
    const fail = (
      status: number,
      code: number,
      message: string,
      headers?: Record<string, string>,
      sub?: number,
    ) => {
      record.status = status;
      this.graphError(response, status, code, message, headers, sub);
    };
    if (request.headers.authorization !== `Bearer ${this.options.accessToken}`) {
      return fail(401, 190, 'Invalid OAuth access token - Cannot parse access token');
    }
    const download = /^\/media-download\/(\d+)$/.exec(url.pathname);
    if (download && request.method === 'GET') {
      const stored = this.media.get(download[1] ?? '');
      if (!stored) return fail(404, 100, 'Media not found');
      response.writeHead(200, { 'content-type': stored.mimeType, 'content-length': stored.data.length });
      response.end(stored.data);
      return;
    }
    const match = GRAPH_PATH.exec(url.pathname);
    if (!match) return fail(400, 2500, 'Unknown path components');
    const [, , objectId = '', edge] = match;

    if (request.method === 'GET' && !edge) {
      if (objectId === this.options.phoneNumberId) {
        return sendJson(response, 200, {
          verified_name: 'Fake Hub Shop',
          display_phone_number: this.options.displayPhoneNumber ?? '+1 555-000-1111',
          id: objectId,
          quality_rating: 'GREEN',
        });
      }
      const stored = this.media.get(objectId);
      if (stored) {
        return sendJson(response, 200, {
          messaging_product: 'whatsapp',
          url: `${this.url}/media-download/${objectId}`,
          mime_type: stored.mimeType,
          sha256: createHash('sha256').update(stored.data).digest('hex'),
          file_size: stored.data.length,
          id: objectId,
        });
      }
      return fail(
        400,
        100,
        `Unsupported get request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
        {},
        33,
      );
    }

    if (request.method === 'POST' && edge === 'messages') {
      if (objectId !== this.options.phoneNumberId) {
        return fail(
          400,
          100,
          `Unsupported post request. Object with ID '${objectId}' does not exist`,
          {},
          33,
        );
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return fail(400, 100, 'Invalid parameter: the body is not JSON');
      }
      record.body = body;
      const injected = this.failures.shift();
      if (injected) {
        return fail(
          injected.status,
          injected.code,
          injected.message ??
            (injected.code === 130429
              ? '(#130429) Rate limit hit'
              : injected.code === 80007
                ? '(#80007) Rate limit issues'
                : '(#131000) Something went wrong'),
          injected.retryAfterSeconds !== undefined
            ? { 'retry-after': String(injected.retryAfterSeconds) }
            : {},
        );
      }
      if (body.messaging_product !== 'whatsapp') return fail(400, 100, 'Param messaging_product is required');
      if (body.status === 'read') {
        if (typeof body.message_id !== 'string' || !body.message_id.startsWith('wamid.'))
          return fail(400, 100, 'Invalid parameter: message_id');
        if ((body.typing_indicator as { type?: string } | undefined)?.type === 'text')
          this.typing.push({ messageId: body.message_id, at: Date.now() });
        return sendJson(response, 200, { success: true });
      }
      const problem = messageProblem(body, this.options.templates ?? []);
      if (problem) return fail(400, problem.code, problem.message);
      const to = String(body.to);
      const id = `wamid.EMU${String(this.nextId++).padStart(8, '0')}`;
      this.sent.push({ id, to, type: String(body.type), payload: body, at: Date.now() });
      return sendJson(response, 200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: to }],
        messages: [{ id, ...(body.type === 'template' ? { message_status: 'accepted' } : {}) }],
      });
    }
    return fail(400, 100, `Unsupported ${request.method?.toLowerCase()} request.`);
  }
}

const tooLong = (value: unknown, limit: number) =>
  typeof value !== 'string' || value.length === 0 || value.length > limit;

/** The documented limits of each message type, as the Cloud API enforces them. */
export function messageProblem(
  body: Record<string, unknown>,
  templates: string[],
): { code: number; message: string } | undefined {
  const bad = (message: string) => ({ code: 100, message: `(#100) Invalid parameter: ${message}` });
  if (typeof body.to !== 'string' || !/^\+?\d{6,15}$/.test(body.to)) return bad('to');
  switch (body.type) {
    case 'text': {
      const text = body.text as { body?: unknown } | undefined;
      if (tooLong(text?.body, 4096)) return bad("text['body'] must be 1-4096 characters");
      return undefined;
    }
    case 'interactive': {
      const interactive = body.interactive as {
        type?: string;
        body?: { text?: unknown };
        action?: {
          buttons?: Array<{ type?: string; reply?: { id?: unknown; title?: unknown } }>;
          button?: unknown;
          sections?: Array<{ title?: unknown; rows?: Array<{ id?: unknown; title?: unknown }> }>;
        };
      };
      if (interactive?.type === 'button') {
        if (tooLong(interactive.body?.text, 1024))
          return bad('interactive body text must be 1-1024 characters');
        const buttons = interactive.action?.buttons ?? [];
        if (buttons.length < 1 || buttons.length > 3) return bad('buttons must have 1-3 entries');
        for (const button of buttons) {
          if (button.type !== 'reply' || tooLong(button.reply?.title, 20) || tooLong(button.reply?.id, 256))
            return bad('button title must be 1-20 characters and id 1-256');
        }
        if (new Set(buttons.map((b) => b.reply?.id)).size !== buttons.length)
          return bad('button ids must be unique');
        return undefined;
      }
      if (interactive?.type === 'list') {
        if (tooLong(interactive.body?.text, 4096))
          return bad('interactive body text must be 1-4096 characters');
        if (tooLong(interactive.action?.button, 20)) return bad('list button must be 1-20 characters');
        const rows = (interactive.action?.sections ?? []).flatMap((section) => section.rows ?? []);
        if (rows.length < 1 || rows.length > 10) return bad('a list must have 1-10 rows');
        for (const row of rows) {
          if (tooLong(row.title, 24) || tooLong(row.id, 200))
            return bad('row title must be 1-24 characters and id 1-200');
        }
        return undefined;
      }
      return bad('interactive type');
    }
    case 'image':
    case 'document': {
      const media = body[body.type] as { link?: unknown; caption?: unknown } | undefined;
      if (typeof media?.link !== 'string' || !/^https?:\/\//.test(media.link))
        return bad(`${body.type} link`);
      if (media.caption !== undefined && tooLong(media.caption, 1024)) return bad('caption');
      return undefined;
    }
    case 'template': {
      const template = body.template as { name?: string; language?: { code?: string } } | undefined;
      const key = `${template?.name}:${template?.language?.code}`;
      if (!templates.includes(key))
        return { code: 132001, message: '(#132001) Template name does not exist in the translation' };
      return undefined;
    }
    default:
      return bad('type');
  }
}
