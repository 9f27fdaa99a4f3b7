import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonField, readParams, sendJson } from './http-util';

/**
 * A local Telegram Bot API (https://core.telegram.org/bots/api) for the methods the hub calls:
 * getMe, sendMessage, sendChatAction, editMessageText, answerCallbackQuery, setWebhook,
 * deleteWebhook, getUpdates, getFile (and the file download at `/file/bot<token>/<file_path>`),
 * with the documented error shapes: 401 for a wrong token, 400 for bad
 * parameters (unparseable HTML, empty or too long text, unknown chat, bad button data), 404 for an
 * unknown method, 409 for getUpdates conflicts, and injected 429s with `parameters.retry_after`.
 */
export interface TelegramEmulatorOptions {
  token: string;
  botUsername?: string;
  /** Chats that answer 400 "chat not found". */
  missingChats?: string[];
}

export interface TelegramCallRecord {
  method: string;
  params: Record<string, unknown>;
  at: number;
  status: number;
}

export interface SentMessage {
  message_id: number;
  chat_id: string;
  text: string;
  parse_mode?: string;
  reply_markup?: unknown;
  at: number;
}

export interface EmulatedFile {
  body: Buffer;
  path: string;
  mimeType: string;
}

/** The public Bot API refuses getFile above this size ("file is too big"). */
export const BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

export interface InjectedTelegramFailure {
  code: number;
  description?: string;
  retryAfter?: number;
  times?: number;
}

const ALLOWED_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'span',
  'tg-spoiler',
  'blockquote',
  'tg-emoji',
]);

/** Telegram's HTML parse mode: known tags, balanced, and only the four named entities. */
export function htmlProblem(text: string): string | undefined {
  const stack: string[] = [];
  const tag = /<(\/?)([a-z-]+)([^>]*)>|&([a-z]+|#\d+|#x[0-9a-f]+);|[<>&]/gi;
  for (const match of text.matchAll(tag)) {
    const [whole, closing, name, , entity] = match;
    if (entity !== undefined) {
      if (!/^(lt|gt|amp|quot|#\d+|#x[0-9a-f]+)$/i.test(entity)) return `unsupported entity &${entity};`;
      continue;
    }
    if (!name) return `unexpected ${whole} at byte offset ${match.index}`;
    const lower = name.toLowerCase();
    if (!ALLOWED_TAGS.has(lower)) return `unsupported start tag "${lower}" at byte offset ${match.index}`;
    if (closing) {
      if (stack.pop() !== lower) return `unexpected end tag at byte offset ${match.index}`;
    } else stack.push(lower);
  }
  return stack.length > 0 ? `can't find end tag corresponding to start tag "${stack.at(-1)}"` : undefined;
}

export class TelegramEmulator {
  readonly calls: TelegramCallRecord[] = [];
  readonly sent: SentMessage[] = [];
  readonly updates: Array<Record<string, unknown> & { update_id: number }> = [];
  webhook: { url: string; secretToken?: string } | undefined;
  /** Files by file_id, as getFile and the download route serve them. */
  readonly files = new Map<string, EmulatedFile>();
  readonly downloads: Array<{ path: string; status: number }> = [];
  private readonly failures = new Map<string, InjectedTelegramFailure[]>();
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: Error) =>
      sendJson(response, 500, { ok: false, error_code: 500, description: error.message }),
    );
  });
  private nextMessageId = 1000;
  private poll: { finish: (status: number, body: unknown) => void } | undefined;
  private readonly botId: number;
  url = '';

  constructor(private readonly options: TelegramEmulatorOptions) {
    this.botId = Number(options.token.split(':')[0]);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.poll?.finish(409, { ok: false, error_code: 409, description: 'Conflict: server is shutting down' });
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The next `times` calls of `method` fail this way (429 comes with `parameters.retry_after`). */
  failNext(method: string, failure: InjectedTelegramFailure): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < (failure.times ?? 1); i++) list.push(failure);
    this.failures.set(method, list);
  }

  /** A file a customer "sent": getFile(fileId) answers with its path, the download serves the bytes. */
  addFile(fileId: string, body: Buffer, options: { path?: string; mimeType?: string } = {}): void {
    const path = options.path ?? `photos/file_${this.files.size}.jpg`;
    this.files.set(fileId, { body, path, mimeType: options.mimeType ?? 'image/jpeg' });
  }

  callsOf(method: string): TelegramCallRecord[] {
    return this.calls.filter((call) => call.method === method);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download) return this.download(download[1] ?? '', download[2] ?? '', response);
    const match = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z]+)$/.exec(url.pathname);
    if (!match) return sendJson(response, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method = ''] = match;
    const params = await readParams(request, url).catch(() => undefined);
    const record: TelegramCallRecord = { method, params: params ?? {}, at: Date.now(), status: 200 };
    this.calls.push(record);
    const fail = (code: number, description: string, parameters?: Record<string, unknown>) => {
      record.status = code;
      sendJson(response, code, {
        ok: false,
        error_code: code,
        description,
        ...(parameters ? { parameters } : {}),
      });
    };
    const ok = (result: unknown) => sendJson(response, 200, { ok: true, result });
    if (token !== this.options.token) return fail(401, 'Unauthorized');
    if (!params) return fail(400, "Bad Request: can't parse JSON object");
    const injected = this.failures.get(method)?.shift();
    if (injected) {
      return fail(
        injected.code,
        injected.description ??
          (injected.code === 429
            ? `Too Many Requests: retry after ${injected.retryAfter ?? 1}`
            : 'Internal Server Error'),
        injected.code === 429 ? { retry_after: injected.retryAfter ?? 1 } : undefined,
      );
    }
    const chatId = params.chat_id === undefined ? undefined : String(params.chat_id);
    const chatProblem = () => {
      if (!chatId) return 'Bad Request: chat_id is empty';
      if (this.options.missingChats?.includes(chatId)) return 'Bad Request: chat not found';
      return undefined;
    };
    switch (method) {
      case 'getMe':
        return ok({
          id: this.botId,
          is_bot: true,
          first_name: 'Emulated Bot',
          username: this.options.botUsername ?? 'EmulatedBot',
        });
      case 'sendMessage': {
        const problem = chatProblem() ?? this.textProblem(params);
        if (problem) return fail(400, problem);
        const message = this.store(chatId as string, params);
        return ok(this.toMessage(message));
      }
      case 'editMessageText': {
        const messageId = Number(params.message_id);
        const existing = this.sent.find((m) => m.chat_id === chatId && m.message_id === messageId);
        if (!existing) return fail(400, 'Bad Request: message to edit not found');
        const problem = this.textProblem(params);
        if (problem) return fail(400, problem);
        if (existing.text === params.text) {
          return fail(
            400,
            'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        existing.text = String(params.text);
        return ok(this.toMessage(existing));
      }
      case 'sendChatAction': {
        const problem = chatProblem();
        if (problem) return fail(400, problem);
        const actions = [
          'typing',
          'upload_photo',
          'record_video',
          'upload_video',
          'record_voice',
          'upload_voice',
          'upload_document',
          'choose_sticker',
          'find_location',
          'record_video_note',
          'upload_video_note',
        ];
        if (!actions.includes(String(params.action)))
          return fail(400, 'Bad Request: wrong parameter action in request');
        return ok(true);
      }
      case 'answerCallbackQuery':
        if (!params.callback_query_id)
          return fail(
            400,
            'Bad Request: query is too old and response timeout expired or query ID is invalid',
          );
        return ok(true);
      case 'setWebhook': {
        const target = String(params.url ?? '');
        const secret = params.secret_token === undefined ? undefined : String(params.secret_token);
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
          return fail(400, 'Bad Request: secret token contains unallowed characters');
        if (target && !target.startsWith('https://'))
          return fail(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        this.webhook = target ? { url: target, secretToken: secret } : undefined;
        return ok(true);
      }
      case 'deleteWebhook':
        this.webhook = undefined;
        return ok(true);
      case 'getUpdates':
        return this.getUpdates(params, record, response);
      case 'getFile': {
        const fileId = String(params.file_id ?? '');
        const file = this.files.get(fileId);
        if (!file) return fail(400, 'Bad Request: invalid file_id');
        if (file.body.length > BOT_API_DOWNLOAD_LIMIT) return fail(400, 'Bad Request: file is too big');
        return ok({
          file_id: fileId,
          file_unique_id: `U${fileId.slice(-8)}`,
          file_size: file.body.length,
          file_path: file.path,
        });
      }
      default:
        return fail(404, 'Not Found: method not found');
    }
  }

  /** The Bot API's file server: the token in the path; unknown paths and wrong tokens get 404/401. */
  private download(token: string, path: string, response: ServerResponse): void {
    const file = [...this.files.values()].find((candidate) => candidate.path === path);
    const status = token !== this.options.token ? 401 : file ? 200 : 404;
    this.downloads.push({ path, status });
    if (status !== 200 || !file) {
      sendJson(response, status, {
        ok: false,
        error_code: status,
        description: status === 401 ? 'Unauthorized' : 'Not Found',
      });
      return;
    }
    response.writeHead(200, { 'content-type': file.mimeType, 'content-length': String(file.body.length) });
    response.end(file.body);
  }

  private textProblem(params: Record<string, unknown>): string | undefined {
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim().length === 0) return 'Bad Request: message text is empty';
    if (text.length > 4096) return 'Bad Request: message is too long';
    if (params.parse_mode === 'HTML') {
      const problem = htmlProblem(text);
      if (problem) return `Bad Request: can't parse entities: ${problem}`;
    }
    const markup = jsonField(params.reply_markup) as
      | { inline_keyboard?: Array<Array<{ callback_data?: string }>> }
      | undefined;
    if (typeof markup === 'symbol') return "Bad Request: can't parse reply keyboard markup JSON object";
    for (const row of markup?.inline_keyboard ?? []) {
      for (const button of row) {
        const data = button.callback_data ?? '';
        if (Buffer.byteLength(data) < 1 || Buffer.byteLength(data) > 64)
          return 'Bad Request: BUTTON_DATA_INVALID';
      }
    }
    return undefined;
  }

  private store(chatId: string, params: Record<string, unknown>): SentMessage {
    const message: SentMessage = {
      message_id: ++this.nextMessageId,
      chat_id: chatId,
      text: String(params.text),
      ...(params.parse_mode ? { parse_mode: String(params.parse_mode) } : {}),
      ...(params.reply_markup ? { reply_markup: jsonField(params.reply_markup) } : {}),
      at: Date.now(),
    };
    this.sent.push(message);
    return message;
  }

  private toMessage(message: SentMessage) {
    const id = Number(message.chat_id);
    return {
      message_id: message.message_id,
      from: {
        id: this.botId,
        is_bot: true,
        first_name: 'Emulated Bot',
        username: this.options.botUsername ?? 'EmulatedBot',
      },
      chat: { id, type: id < 0 ? 'supergroup' : 'private' },
      date: Math.floor(message.at / 1000),
      text: message.text,
      ...(message.reply_markup ? { reply_markup: message.reply_markup } : {}),
    };
  }

  private getUpdates(
    params: Record<string, unknown>,
    record: TelegramCallRecord,
    response: ServerResponse,
  ): void {
    let timer: NodeJS.Timeout | undefined;
    const finish = (status: number, body: unknown) => {
      record.status = status;
      clearTimeout(timer);
      if (this.poll?.finish === finish) this.poll = undefined;
      if (!response.writableEnded) sendJson(response, status, body);
    };
    if (this.webhook) {
      finish(409, {
        ok: false,
        error_code: 409,
        description:
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      });
      return;
    }
    // A second poller terminates the first, as the Bot API does.
    this.poll?.finish(409, {
      ok: false,
      error_code: 409,
      description:
        'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    });
    const offset = Number(params.offset ?? 0);
    if (offset > 0)
      this.updates.splice(0, this.updates.length, ...this.updates.filter((u) => u.update_id >= offset));
    const ready = () => this.updates.filter((u) => u.update_id >= offset);
    const timeoutMs = Math.min(Number(params.timeout ?? 0), 50) * 1000;
    if (ready().length > 0 || timeoutMs === 0) {
      finish(200, { ok: true, result: ready() });
      return;
    }
    this.poll = { finish };
    timer = setTimeout(() => finish(200, { ok: true, result: ready() }), timeoutMs);
    const check = setInterval(() => {
      if (response.writableEnded) return clearInterval(check);
      if (ready().length > 0) {
        clearInterval(check);
        finish(200, { ok: true, result: ready() });
      }
    }, 20);
  }
}
