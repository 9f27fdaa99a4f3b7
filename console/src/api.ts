/**
 * The console's one door to the hub: JSON over fetch to `/admin/...` routes, the session cookie
 * sent by the browser, the session's CSRF token on every write (core/security/guard.ts).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;

/** Set once from GET /admin/me (session.ts). */
export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

async function parse<T>(response: Response): Promise<T> {
  const body = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? `http.${response.status}`,
      error?.message ?? `${response.status} ${response.statusText}`,
    );
  }
  return body as T;
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  return parse<T>(await fetch(withQuery(path, query), { headers: { accept: 'application/json' } }));
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (csrfToken) headers['x-csrf-token'] = csrfToken;
  return parse<T>(await fetch(path, { method, headers, body: JSON.stringify(body ?? {}) }));
}

/**
 * Server-sent events from an `/admin/...` stream: unnamed frames and the named `events`, each
 * parsed as JSON. The browser reconnects by itself after a drop. Returns the function that closes it.
 */
export function eventStream(
  path: string,
  onMessage: (data: unknown, event: string) => void,
  events: readonly string[] = [],
): () => void {
  const source = new EventSource(path);
  const handle = (event: MessageEvent) => {
    try {
      onMessage(JSON.parse(event.data as string), event.type);
    } catch {
      // A frame that is not JSON is not one of ours.
    }
  };
  source.onmessage = handle;
  for (const name of events) source.addEventListener(name, handle as EventListener);
  return () => source.close();
}
