import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bilingualTerms } from '../../core/rag/bilingual-tokenizer';

/**
 * A cross-encoder rerank server in both shapes the hub speaks: TEI (`POST /rerank` {query, texts} →
 * [{index, score}]) and Jina/Cohere/vLLM (`POST /v1/rerank` {model, query, documents} → {results:
 * [{index, relevance_score}]}). Relevance is the share of query terms found in the text, squashed to
 * (0, 1) like a sigmoid cross-encoder. `fail` makes the next requests answer with a status (429 with
 * Retry-After, 5xx), as real servers do under load.
 */
export interface RerankEmulator {
  url: string;
  requests: Array<{ path: string; body: Record<string, unknown> }>;
  fail(status: number, times?: number, retryAfter?: string): void;
  close(): Promise<void>;
}

export function relevance(query: string, text: string): number {
  const terms = bilingualTerms(query);
  if (terms.length === 0) return 0;
  const have = new Set(bilingualTerms(text));
  const share = terms.filter((t) => have.has(t)).length / terms.length;
  return 1 / (1 + Math.exp(-10 * (share - 0.4)));
}

export async function startRerankEmulator(): Promise<RerankEmulator> {
  const requests: RerankEmulator['requests'] = [];
  let failure: { status: number; times: number; retryAfter?: string } | undefined;
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as Record<string, unknown>;
    const path = req.url ?? '';
    requests.push({ path, body });
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(data));
    if (failure && failure.times > 0) {
      failure.times--;
      return send(
        failure.status,
        { error: 'injected' },
        failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      );
    }
    const query = String(body.query ?? '');
    if (req.method === 'POST' && path === '/rerank') {
      const texts = (body.texts as string[] | undefined) ?? [];
      if (!query || texts.length === 0)
        return send(422, { error: 'query and texts are required', error_type: 'Validation' });
      return send(
        200,
        texts
          .map((text, index) => ({ index, score: relevance(query, text) }))
          .sort((a, b) => b.score - a.score),
      );
    }
    if (req.method === 'POST' && path === '/v1/rerank') {
      const documents = (body.documents as string[] | undefined) ?? [];
      if (!body.model) return send(400, { error: { message: 'model is required' } });
      return send(200, {
        model: body.model,
        results: documents
          .map((text, index) => ({ index, relevance_score: relevance(query, text), document: { text } }))
          .sort((a, b) => b.relevance_score - a.relevance_score),
      });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fail(status, times = 1, retryAfter) {
      failure = { status, times, retryAfter };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
