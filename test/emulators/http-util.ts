import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request body as JSON, form fields or query string, the ways the platforms' SDKs send it. */
export async function readParams(request: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = request.headers['content-type'] ?? '';
  if (raw.length === 0) return params;
  if (type.includes('application/json')) return { ...params, ...(JSON.parse(raw) as object) };
  if (type.includes('application/x-www-form-urlencoded'))
    return { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
  throw new Error(`unsupported content type ${type}`);
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** Form fields arrive as strings; JSON-valued ones (reply_markup, blocks) are decoded. */
export function jsonField(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return Symbol.for('invalid-json');
  }
}
