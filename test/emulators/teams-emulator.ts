import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from './http-util';

/**
 * A local Bot Connector service (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference)
 * for what the hub calls: `POST {serviceUrl}/v3/conversations/{conversationId}/activities` (and
 * `/activities/{replyToId}`), `PUT {serviceUrl}/v3/conversations/{conversationId}/activities/{activityId}`
 * (Update Activity: the posted activity is replaced; 404 for an activity it does not know), and `GET {serviceUrl}/v3/attachments/{id}/views/{view}` for inline images. Any path prefix is taken as part of the serviceUrl, as the regional
 * ones are (`/amer/`, `/emea/`). Documented errors: 401 for a missing or invalid bearer token, 400
 * for an activity Teams refuses (no type, empty message, malformed Adaptive Card), 404 for an
 * unknown conversation, 413 past the ~28 KB message limit, and injected 429 (with Retry-After) and
 * 5xx answers.
 */
export interface TeamsEmulatorOptions {
  /** Whether a bearer token is one the bot may use (the OpenID emulator's verifyAccessToken). */
  verifyToken: (token: string) => boolean;
  missingConversations?: string[];
}

export interface PostedActivity {
  id: string;
  /** How many times Update Activity replaced it. */
  updates?: number;
  /** The serviceUrl path it was posted under, e.g. "/amer/". */
  prefix: string;
  conversationId: string;
  replyToId?: string;
  activity: Record<string, unknown>;
  at: number;
}

export interface ConnectorCall {
  conversationId: string;
  method?: 'POST' | 'PUT';
  /** The activity a PUT replaced, and the activity it sent. */
  activityId?: string;
  activity?: Record<string, unknown>;
  status: number;
  at: number;
}

const MAX_BODY_BYTES = 28 * 1024;

export class TeamsEmulator {
  url = '';
  readonly posted: PostedActivity[] = [];
  readonly calls: ConnectorCall[] = [];
  private readonly failures: Array<{ status: number; retryAfter?: number }> = [];
  private readonly attachments = new Map<string, { body: Buffer; contentType: string }>();
  private nextId = 1_771_300_000_000;
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: Error) =>
      sendJson(response, 500, { error: { code: 'ServiceError', message: error.message } }),
    );
  });

  constructor(private readonly options: TeamsEmulatorOptions) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The next `times` posts fail with `status`; a 429 carries `Retry-After: retryAfter` seconds. */
  failNext(failure: { status: number; retryAfter?: number; times?: number }): void {
    for (let i = 0; i < (failure.times ?? 1); i++) this.failures.push(failure);
  }

  /** An inline image or file a customer sent; returns its `contentUrl` path (under any serviceUrl prefix). */
  addAttachment(id: string, body: Buffer, contentType: string): string {
    this.attachments.set(id, { body, contentType });
    return `v3/attachments/${encodeURIComponent(id)}/views/original`;
  }

  postedTo(conversationId: string): PostedActivity[] {
    return this.posted.filter((p) => p.conversationId === conversationId);
  }

  callsTo(conversationId: string): ConnectorCall[] {
    return this.calls.filter((c) => c.conversationId === conversationId);
  }

  /** The activity is gone from the conversation (deleted in the client); updating it answers 404. */
  deleteActivity(id: string): void {
    const index = this.posted.findIndex((p) => p.id === id);
    if (index >= 0) this.posted.splice(index, 1);
  }

  private serveAttachment(request: IncomingMessage, response: ServerResponse, id: string): void {
    attachmentResponse(this.attachments, this.options.verifyToken, request, response, id);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const view = /\/v3\/attachments\/([^/]+)\/views\/[^/]+$/.exec(url.pathname);
    if (request.method === 'GET' && view) return this.serveAttachment(request, response, view[1] ?? '');
    const match = /^(.*\/)v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
    const method = request.method;
    if (!match || !(method === 'POST' || (method === 'PUT' && match[3]))) {
      return sendJson(response, 404, { error: { code: 'NotFound', message: 'Not found' } });
    }
    const [, prefix = '/', rawConversation = '', rawActivity] = match;
    const conversationId = decodeURIComponent(rawConversation);
    const call: ConnectorCall = {
      conversationId,
      method,
      status: method === 'PUT' ? 200 : 201,
      at: Date.now(),
    };
    if (method === 'PUT') call.activityId = decodeURIComponent(rawActivity ?? '');
    this.calls.push(call);
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      call.status = status;
      sendJson(response, status, { error: { code, message } }, headers);
    };
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);

    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token || !this.options.verifyToken(token)) {
      call.status = 401;
      return sendJson(response, 401, { message: 'Authorization has been denied for this request.' });
    }
    const injected = this.failures.shift();
    if (injected) {
      if (injected.status === 429) {
        return fail(429, 'TooManyRequests', 'Too many requests', {
          'retry-after': String(injected.retryAfter ?? 1),
        });
      }
      return fail(injected.status, 'ServiceError', 'The service is unavailable');
    }
    if (raw.length > MAX_BODY_BYTES) return fail(413, 'MessageSizeTooBig', 'Message size too big');
    let activity: Record<string, unknown>;
    try {
      activity = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(400, 'BadArgument', 'Invalid JSON');
    }
    call.activity = activity;
    const problem = activityProblem(activity);
    if (problem) return fail(400, 'BadArgument', problem);
    if (this.options.missingConversations?.includes(conversationId)) {
      return fail(404, 'ConversationNotFound', 'Conversation not found.');
    }
    if (method === 'PUT') {
      const target = this.posted.find((p) => p.id === call.activityId && p.conversationId === conversationId);
      if (!target) return fail(404, 'ActivityNotFound', 'Activity not found.');
      const { id: _id, ...replacement } = activity;
      target.activity = replacement;
      target.updates = (target.updates ?? 0) + 1;
      return sendJson(response, 200, { id: target.id });
    }
    const id = String(++this.nextId);
    this.posted.push({
      id,
      prefix,
      conversationId,
      ...(rawActivity ? { replyToId: decodeURIComponent(rawActivity) } : {}),
      activity,
      at: Date.now(),
    });
    sendJson(response, 201, { id });
  }
}

/** GET /v3/attachments/{id}/views/{view}: the bytes, for the bot's bearer token only. */
function attachmentResponse(
  attachments: Map<string, { body: Buffer; contentType: string }>,
  verifyToken: (token: string) => boolean,
  request: IncomingMessage,
  response: ServerResponse,
  id: string,
): void {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (!token || !verifyToken(token)) {
    sendJson(response, 401, { message: 'Authorization has been denied for this request.' });
    return;
  }
  const attachment = attachments.get(decodeURIComponent(id));
  if (!attachment) {
    sendJson(response, 404, { error: { code: 'NotFound', message: 'Attachment not found' } });
    return;
  }
  response.writeHead(200, {
    'content-type': attachment.contentType,
    'content-length': attachment.body.length,
  });
  response.end(attachment.body);
}

/** What the Bot Connector refuses with 400 BadArgument. */
export function activityProblem(activity: Record<string, unknown>): string | undefined {
  if (activity.type === 'typing') return undefined;
  if (activity.type !== 'message') return `Unknown activity type ${JSON.stringify(activity.type)}`;
  const text = typeof activity.text === 'string' ? activity.text : '';
  const attachments = Array.isArray(activity.attachments) ? activity.attachments : [];
  if (text.trim() === '' && attachments.length === 0) return 'Activity must have text or attachments';
  if (
    activity.textFormat !== undefined &&
    !['markdown', 'plain', 'xml'].includes(String(activity.textFormat))
  ) {
    return `Unknown textFormat ${JSON.stringify(activity.textFormat)}`;
  }
  for (const attachment of attachments as Array<{
    contentType?: string;
    content?: Record<string, unknown>;
  }>) {
    if (attachment.contentType !== 'application/vnd.microsoft.card.adaptive') continue;
    const card = attachment.content;
    if (card?.type !== 'AdaptiveCard' || typeof card.version !== 'string') return 'Invalid Adaptive Card';
    for (const action of (card.actions ?? []) as Array<{ type?: string; title?: string }>) {
      if (
        !['Action.Submit', 'Action.Execute', 'Action.OpenUrl', 'Action.ShowCard'].includes(
          String(action.type),
        )
      ) {
        return `Unknown Adaptive Card action ${JSON.stringify(action.type)}`;
      }
      if (!action.title) return 'Adaptive Card action without a title';
    }
  }
  return undefined;
}
