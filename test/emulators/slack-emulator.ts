import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonField, readParams, sendJson } from './http-util';

/**
 * A local Slack Web API (https://api.slack.com/web) for auth.test, chat.postMessage and chat.update.
 * Like Slack it answers HTTP 200 with `ok:false` and an error code for refused calls (not_authed,
 * invalid_auth, channel_not_found, no_text, invalid_blocks, message_not_found, msg_too_long), HTTP
 * 429 with Retry-After when rate limited, and 404 unknown_method.
 */
export interface SlackEmulatorOptions {
  token: string;
  team?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /** Channels that answer channel_not_found. */
  missingChannels?: string[];
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
  private clock = 1_700_000_000;
  private sequence = 0;
  url = '';

  constructor(private readonly options: SlackEmulatorOptions) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  failNext(method: string, failure: InjectedSlackFailure): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < (failure.times ?? 1); i++) list.push(failure);
    this.failures.set(method, list);
  }

  callsOf(method: string): SlackCallRecord[] {
    return this.calls.filter((call) => call.method === method);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
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
    if (!['auth.test', 'chat.postMessage', 'chat.update'].includes(method))
      return refuse('unknown_method', 404);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof params.token === 'string' ? params.token : undefined);
    if (!token) return refuse('not_authed');
    if (token !== this.options.token) return refuse('invalid_auth');
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
