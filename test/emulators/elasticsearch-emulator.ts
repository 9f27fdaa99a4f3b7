import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Client } from '@elastic/elasticsearch';
import Mock from '@elastic/elasticsearch-mock';
import { bilingualTerms } from '../../core/rag/bilingual-tokenizer';

/**
 * Elasticsearch on `@elastic/elasticsearch-mock`: the real client's requests (paths, methods,
 * bodies) are recorded for exact assertions, and a small in-memory engine answers them the way
 * Elasticsearch does for the subset the hub uses — index templates, indices, aliases (atomic
 * `_aliases`), `_bulk` with per-item results, `_count`, `_refresh`, `GET /`, `GET /_license`, and
 * `_search` / `_msearch` (NDJSON) with an `rrf` retriever over a `standard` (bool: multi_match +
 * filters) and a `knn` (cosine) leg, or with a plain `query` or top-level `knn`. It plays a licence:
 * like Elasticsearch (x-pack rank-rrf registers `rrf` as an ENTERPRISE feature), only an active
 * `enterprise` or `trial` licence may use the `rrf` retriever; any other is refused with the
 * 403 `security_exception` a real cluster answers. BM25 here uses the hub's bilingual tokenizer,
 * not smartcn: rankings are close to, not equal to, a real cluster's; the integration suite
 * (ELASTICSEARCH_URL) covers the real analyzer.
 * `serve()` puts the same engine behind a local HTTP port for code that builds its own client from a
 * URL, with Elasticsearch's security: API-key or basic auth, 401 security_exception with
 * WWW-Authenticate otherwise.
 */
/** The mock recognises errors by `instanceof` against the CommonJS build it loads itself. */
const { errors } = createRequire(import.meta.url)(
  '@elastic/elasticsearch',
) as typeof import('@elastic/elasticsearch');

export interface RecordedRequest {
  method: string;
  path: string;
  querystring: Record<string, unknown>;
  body: unknown;
}

export type LicenceType = 'basic' | 'standard' | 'gold' | 'platinum' | 'enterprise' | 'trial';
export type LicenceStatus = 'active' | 'expired';

export interface ElasticsearchEmulatorOptions {
  /** The cluster's licence; `basic`, what a self-managed cluster runs without a subscription, by default. */
  licence?: LicenceType;
  version?: string;
}

interface Doc {
  _id: string;
  _source: Record<string, unknown>;
}

export interface ElasticsearchEmulator {
  client: Client;
  requests: RecordedRequest[];
  indices: Map<string, Map<string, Doc>>;
  aliases: Map<string, Set<string>>;
  templates: Map<string, unknown>;
  /** The next bulk items for these ids fail with this status (429 retried by the hub, others reported). */
  failBulkItem(id: string, status: number, times?: number): void;
  /** The engine over HTTP, accepting only these credentials (none: security off). */
  serve(credentials?: ElasticsearchCredentials): Promise<ServedElasticsearch>;
  /** Install another licence, or let the current one expire, as `POST /_license` or time would. */
  setLicence(type: LicenceType, status?: LicenceStatus): void;
  /** Answer `GET /` and `GET /_license` with 403, as for credentials without the `monitor` privilege. */
  denyMonitor(): void;
}

export type ElasticsearchCredentials = { apiKey: string } | { username: string; password: string };

export interface ServedElasticsearch {
  url: string;
  /** Requests that reached the engine or were refused, in order. */
  hits: Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

const SECURITY_REASON =
  'unable to authenticate with provided credentials and anonymous access is not allowed for this request';

export function createElasticsearchEmulator(
  options: ElasticsearchEmulatorOptions = {},
): ElasticsearchEmulator {
  const mock = new Mock();
  const requests: RecordedRequest[] = [];
  const indices = new Map<string, Map<string, Doc>>();
  const aliases = new Map<string, Set<string>>();
  const templates = new Map<string, unknown>();
  const bulkFailures = new Map<string, { status: number; times: number }>();
  const version = options.version ?? '9.5.7';
  let licence = { type: options.licence ?? 'basic', status: 'active' as LicenceStatus };
  let monitorDenied = false;

  const record = (params: {
    method: string | string[];
    path: string | string[];
    querystring?: unknown;
    body?: unknown;
  }) => {
    requests.push({
      method: String(params.method),
      path: decodeURIComponent(String(params.path)),
      querystring: (params.querystring ?? {}) as Record<string, unknown>,
      body: params.body ?? null,
    });
  };
  const responseError = (statusCode: number, body: object) =>
    new errors.ResponseError({ body, statusCode, headers: {}, warnings: null, meta: {} as never });
  const notFound = (type: string, reason: string) =>
    responseError(404, { error: { type, reason }, status: 404 });
  const unauthorized = (action: string) => {
    const cause = {
      type: 'security_exception',
      reason: `action [${action}] is unauthorized for API key id [emulator] of user [hub], this action is granted by the cluster privileges [monitor,manage,all]`,
    };
    return responseError(403, { error: { root_cause: [cause], ...cause }, status: 403 });
  };
  /** Whether the licence allows the rrf retriever, as XPackLicenseState decides for an ENTERPRISE feature. */
  const rrfAllowed = () =>
    licence.status === 'active' && (licence.type === 'enterprise' || licence.type === 'trial');
  /** Runs a search body on the docs behind `indexName`: hits, or the error body and status a cluster answers. */
  const searchIndex = (indexName: string, body: SearchBody) => {
    // The licence is checked while the body is parsed, before the index is looked up.
    if (body.retriever?.rrf && !rrfAllowed())
      return { status: 403, error: licenceRefusal(RRF_FEATURE) } as const;
    const targets = resolve(indexName);
    if (!targets) {
      return {
        status: 404,
        error: { type: 'index_not_found_exception', reason: `no such index [${indexName}]` },
      } as const;
    }
    const docs = targets.flatMap((index) => [...(indices.get(index)?.values() ?? [])]);
    const hits = search(docs, body);
    return {
      status: 200,
      result: {
        took: 1,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: { total: { value: hits.length, relation: 'eq' }, max_score: hits[0]?._score ?? null, hits },
      },
    } as const;
  };
  /** Concrete indices behind a name (alias or index, comma lists allowed). */
  const resolve = (name: string): string[] | undefined => {
    const out: string[] = [];
    for (const part of name.split(',')) {
      const alias = aliases.get(part);
      if (alias && alias.size > 0) out.push(...alias);
      else if (indices.has(part)) out.push(part);
      else return undefined;
    }
    return out;
  };
  const param = (path: string, i: number) => decodeURIComponent(path.split('/')[i] ?? '');

  mock.add({ method: 'PUT', path: '/_index_template/:name' }, (params) => {
    record(params);
    templates.set(param(params.path as string, 2), params.body);
    return { acknowledged: true };
  });
  mock.add({ method: 'GET', path: '/_alias/:name' }, (params) => {
    record(params);
    const name = param(params.path as string, 2);
    const targets = aliases.get(name);
    if (!targets || targets.size === 0)
      return notFound('aliases_not_found_exception', `alias [${name}] missing`);
    return Object.fromEntries([...targets].map((index) => [index, { aliases: { [name]: {} } }]));
  });
  mock.add({ method: 'POST', path: '/_aliases' }, (params) => {
    record(params);
    const { actions } = params.body as { actions: Array<Record<string, { index: string; alias: string }>> };
    // Atomic: validate first, then apply every action.
    for (const action of actions) {
      const [, spec] = Object.entries(action)[0] ?? [];
      if (spec && !indices.has(spec.index))
        return notFound('index_not_found_exception', `no such index [${spec.index}]`);
    }
    for (const action of actions) {
      const [kind, spec] = Object.entries(action)[0] ?? [];
      if (!spec) continue;
      const set = aliases.get(spec.alias) ?? new Set<string>();
      if (kind === 'add') set.add(spec.index);
      if (kind === 'remove') set.delete(spec.index);
      aliases.set(spec.alias, set);
    }
    return { acknowledged: true };
  });
  mock.add({ method: 'POST', path: '/_bulk' }, (params) => {
    record(params);
    const lines = params.body as Array<Record<string, unknown>>;
    const items: object[] = [];
    for (let i = 0; i < lines.length; i++) {
      const [action, meta] = Object.entries(lines[i] ?? {})[0] as [string, { _index: string; _id: string }];
      const source = action === 'index' ? (lines[++i] as Record<string, unknown>) : undefined;
      const failure = bulkFailures.get(meta._id);
      if (failure && failure.times > 0) {
        failure.times--;
        items.push({
          [action]: {
            _index: meta._index,
            _id: meta._id,
            status: failure.status,
            error: {
              type: failure.status === 429 ? 'es_rejected_execution_exception' : 'document_parsing_exception',
              reason: 'injected failure',
            },
          },
        });
        continue;
      }
      const [target] = resolve(meta._index) ?? [];
      if (!target) {
        items.push({
          [action]: {
            _index: meta._index,
            _id: meta._id,
            status: 404,
            error: { type: 'index_not_found_exception', reason: 'no such index' },
          },
        });
        continue;
      }
      const docs = indices.get(target) ?? new Map();
      if (action === 'delete') {
        const existed = docs.delete(meta._id);
        items.push({
          delete: {
            _index: target,
            _id: meta._id,
            status: existed ? 200 : 404,
            result: existed ? 'deleted' : 'not_found',
          },
        });
      } else {
        docs.set(meta._id, { _id: meta._id, _source: source ?? {} });
        items.push({ index: { _index: target, _id: meta._id, status: 201, result: 'created' } });
      }
    }
    const failed = items.some((item) => (Object.values(item)[0] as { error?: unknown }).error);
    return { took: 1, errors: failed, items };
  });
  mock.add({ method: ['POST', 'GET'], path: '/:index/_refresh' }, (params) => {
    record(params);
    return { _shards: { total: 1, successful: 1, failed: 0 } };
  });
  mock.add({ method: ['POST', 'GET'], path: '/:index/_count' }, (params) => {
    record(params);
    const targets = resolve(param(params.path as string, 1));
    if (!targets) return notFound('index_not_found_exception', 'no such index');
    return { count: targets.reduce((sum, index) => sum + (indices.get(index)?.size ?? 0), 0) };
  });
  mock.add({ method: ['POST', 'GET'], path: '/:index/_search' }, (params) => {
    record(params);
    const outcome = searchIndex(param(params.path as string, 1), params.body as SearchBody);
    if (outcome.status !== 200) {
      const error =
        outcome.status === 403 ? outcome.error : { root_cause: [outcome.error], ...outcome.error };
      return responseError(outcome.status, { error, status: outcome.status });
    }
    return outcome.result;
  });
  // Each search of an _msearch succeeds or fails on its own; the request itself answers 200.
  mock.add({ method: ['POST', 'GET'], path: '/:index/_msearch' }, (params) => {
    record(params);
    const lines = params.body as Array<Record<string, unknown>>;
    const fallback = param(params.path as string, 1);
    const responses: object[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const header = lines[i] as { index?: string };
      const outcome = searchIndex(header.index ?? fallback, lines[i + 1] as SearchBody);
      responses.push(
        outcome.status === 200
          ? { ...outcome.result, status: 200 }
          : {
              error:
                outcome.status === 403 ? outcome.error : { root_cause: [outcome.error], ...outcome.error },
              status: outcome.status,
            },
      );
    }
    return { took: 1, responses };
  });
  mock.add({ method: 'GET', path: '/' }, (params) => {
    record(params);
    if (monitorDenied) return unauthorized('cluster:monitor/main');
    return {
      name: 'emulator-node',
      cluster_name: 'docker-cluster',
      cluster_uuid: 'emulator-cluster-uuid',
      version: {
        number: version,
        build_flavor: 'default',
        build_type: 'docker',
        build_hash: 'emulator',
        build_date: '2026-01-01T00:00:00.000Z',
        build_snapshot: false,
        lucene_version: '10.3.0',
        minimum_wire_compatibility_version: '8.19.0',
        minimum_index_compatibility_version: '8.0.0',
      },
      tagline: 'You Know, for Search',
    };
  });
  mock.add({ method: 'GET', path: '/_license' }, (params) => {
    record(params);
    if (monitorDenied) return unauthorized('cluster:monitor/xpack/license/get');
    const issued = Date.UTC(2026, 0, 1);
    const expires = licence.type === 'basic' ? {} : { expiry_date_in_millis: issued + 30 * 86_400_000 };
    return {
      license: {
        status: licence.status,
        uid: 'emulator-licence',
        type: licence.type,
        issue_date: new Date(issued).toISOString(),
        issue_date_in_millis: issued,
        ...expires,
        max_nodes: 1000,
        max_resource_units: null,
        issued_to: 'docker-cluster',
        issuer: licence.type === 'basic' || licence.type === 'trial' ? 'elasticsearch' : 'Elastic',
        start_date_in_millis: -1,
      },
    };
  });
  mock.add({ method: 'PUT', path: '/:index' }, (params) => {
    record(params);
    const index = param(params.path as string, 1);
    indices.set(index, new Map());
    return { acknowledged: true, index };
  });
  mock.add({ method: 'DELETE', path: '/:index' }, (params) => {
    record(params);
    for (const index of param(params.path as string, 1).split(',')) {
      indices.delete(index);
      for (const set of aliases.values()) set.delete(index);
    }
    return { acknowledged: true };
  });

  // The mock's connection throws on close(); a real client closes its sockets there.
  class Connection extends mock.getConnection() {
    override async close(): Promise<void> {}
  }
  const client = new Client({ node: 'http://elasticsearch.test:9200', Connection });
  return {
    client,
    requests,
    indices,
    aliases,
    templates,
    failBulkItem(id, status, times = 1) {
      bulkFailures.set(id, { status, times });
    },
    setLicence(type, status = 'active') {
      licence = { type, status };
    },
    denyMonitor() {
      monitorDenied = true;
    },
    serve: (credentials) => serveOverHttp(mock, credentials),
  };
}

function authorized(req: IncomingMessage, credentials: ElasticsearchCredentials | undefined): boolean {
  if (!credentials) return true;
  const expected =
    'apiKey' in credentials
      ? `ApiKey ${credentials.apiKey}`
      : `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  return req.headers.authorization === expected;
}

async function serveOverHttp(
  mock: Mock,
  credentials: ElasticsearchCredentials | undefined,
): Promise<ServedElasticsearch> {
  const hits: ServedElasticsearch['hits'] = [];
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? '/', 'http://elasticsearch');
    const method = req.method ?? 'GET';
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      hits.push({ method, path: url.pathname, status });
      res
        .writeHead(status, {
          'content-type': 'application/json; charset=UTF-8',
          'x-elastic-product': 'Elasticsearch',
          ...headers,
        })
        .end(JSON.stringify(body));
    };
    if (!authorized(req, credentials)) {
      const error = { type: 'security_exception', reason: SECURITY_REASON };
      return reply(
        401,
        { error: { root_cause: [error], ...error }, status: 401 },
        { 'www-authenticate': 'Basic realm="security", charset="UTF-8", ApiKey' },
      );
    }
    const ndjson = (req.headers['content-type'] ?? '').includes('ndjson');
    const params = {
      method,
      path: decodeURIComponent(url.pathname),
      querystring: Object.fromEntries(url.searchParams),
      body: !raw
        ? null
        : ndjson
          ? raw
              .split('\n')
              .filter(Boolean)
              .map((line) => JSON.parse(line))
          : JSON.parse(raw),
    };
    const handler = mock.get(params);
    if (!handler) return reply(404, { error: `no handler found for uri [${url.pathname}]`, status: 404 });
    const answer = handler(params);
    if (answer instanceof errors.ResponseError) return reply(answer.statusCode ?? 500, answer.body);
    reply(200, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The feature name the rrf retriever is refused under (RRFRetrieverBuilder.fromXContent). */
const RRF_FEATURE = 'Reciprocal Rank Fusion (RRF)';

/**
 * The error body of LicenseUtils.newComplianceException, as the REST layer renders it: 403,
 * `security_exception`, the `es.license.expired.feature` metadata without its `es.` prefix.
 */
function licenceRefusal(feature: string) {
  const cause = {
    type: 'security_exception',
    reason: `current license is non-compliant for [${feature}]`,
    'license.expired.feature': feature,
  };
  return { root_cause: [cause], ...cause };
}

interface TextQuery {
  bool: { must: Array<{ multi_match: { query: string; fields: string[] } }>; filter: Filter[] };
}

interface KnnQuery {
  field: string;
  query_vector: number[];
  k: number;
  num_candidates: number;
  filter: Filter[];
}

/** What the hub sends: an `rrf` retriever over both legs, or one leg as a plain `query` or top-level `knn`. */
interface SearchBody {
  size?: number;
  _source?: { excludes?: string[] };
  query?: TextQuery;
  knn?: KnnQuery;
  retriever?: {
    rrf: {
      retrievers: Array<{ standard?: { query: TextQuery }; knn?: KnnQuery }>;
      rank_window_size: number;
      rank_constant: number;
    };
  };
}

type Filter = Record<string, unknown>;

interface Scored {
  doc: Doc;
  score: number;
}

function textLeg(docs: Doc[], query: TextQuery): Scored[] {
  return bm25(
    docs.filter((d) => query.bool.filter.every((f) => matches(d, f))),
    query.bool.must[0]?.multi_match.query ?? '',
  );
}

function vectorLeg(docs: Doc[], query: KnnQuery): Scored[] {
  return knn(
    docs.filter((d) => query.filter.every((f) => matches(d, f))),
    query.query_vector,
    query.field,
  ).slice(0, query.k);
}

function search(docs: Doc[], body: SearchBody) {
  let ranked: Array<[string, number]>;
  if (body.retriever) {
    const { retrievers, rank_window_size: window, rank_constant: constant } = body.retriever.rrf;
    const fused = new Map<string, number>();
    for (const leg of retrievers) {
      const legHits = leg.standard
        ? textLeg(docs, leg.standard.query)
        : leg.knn
          ? vectorLeg(docs, leg.knn)
          : [];
      for (const [rank, { doc }] of legHits.slice(0, window).entries()) {
        fused.set(doc._id, (fused.get(doc._id) ?? 0) + 1 / (constant + rank + 1));
      }
    }
    // Equal fused scores go to the smaller id (Elasticsearch: the smaller doc id).
    ranked = [...fused].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  } else if (body.knn) {
    ranked = vectorLeg(docs, body.knn).map(({ doc, score }) => [doc._id, score]);
  } else if (body.query) {
    ranked = textLeg(docs, body.query).map(({ doc, score }) => [doc._id, score]);
  } else {
    throw new Error('emulator: a search needs a retriever, a query or a knn section');
  }
  const byId = new Map(docs.map((d) => [d._id, d]));
  const excludes = new Set(body._source?.excludes ?? []);
  // A leg keeps its own order for equal scores, the same whether it stands alone or feeds rrf.
  return ranked.slice(0, body.size ?? 10).map(([id, score]) => ({
    _id: id,
    _score: score,
    _source: Object.fromEntries(
      Object.entries(byId.get(id)?._source ?? {}).filter(([key]) => !excludes.has(key)),
    ),
  }));
}

function matches(doc: Doc, filter: Filter): boolean {
  const [kind, spec] = Object.entries(filter)[0] as [string, Record<string, unknown>];
  const values = (field: string) => {
    const value = doc._source[field];
    return Array.isArray(value) ? value : [value];
  };
  if (kind === 'term') {
    const [field, value] = Object.entries(spec)[0] ?? [];
    return field !== undefined && values(field).includes(value);
  }
  if (kind === 'terms') {
    const [field, wanted] = Object.entries(spec)[0] as [string, unknown[]];
    return values(field).some((v) => wanted.includes(v));
  }
  if (kind === 'bool') {
    const bool = spec as { filter?: Filter[]; must_not?: Filter[] };
    return (
      (bool.filter ?? []).every((f) => matches(doc, f)) && !(bool.must_not ?? []).some((f) => matches(doc, f))
    );
  }
  throw new Error(`emulator: unsupported filter ${kind}`);
}

/** BM25 (k1 1.2, b 0.75) over title (boost 2) and text, the best field per document as multi_match does. */
function bm25(docs: Doc[], query: string): Scored[] {
  const terms = bilingualTerms(query);
  const fields: Array<[string, number]> = [
    ['title', 2],
    ['text', 1],
  ];
  const tokenized = docs.map((doc) =>
    fields.map(([field]) => bilingualTerms(String(doc._source[field] ?? ''))),
  );
  const scores = docs.map((doc, i) => {
    let best = 0;
    fields.forEach(([, boost], f) => {
      const lengths = tokenized.map((t) => t[f]?.length ?? 0);
      const avg = lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length);
      const tokens = tokenized[i]?.[f] ?? [];
      let score = 0;
      for (const term of terms) {
        const tf = tokens.filter((t) => t === term).length;
        if (tf === 0) continue;
        const df = tokenized.filter((t) => t[f]?.includes(term)).length;
        const idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
        score += (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * tokens.length) / Math.max(1, avg)));
      }
      best = Math.max(best, score * boost);
    });
    return { doc, score: best };
  });
  return scores.filter((s) => s.score > 0).sort((a, b) => b.score - a.score);
}

function knn(docs: Doc[], vector: number[], field: string): Scored[] {
  const cosine = (a: number[]) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    a.forEach((x, i) => {
      const y = vector[i] ?? 0;
      dot += x * y;
      na += x * x;
      nb += y * y;
    });
    return na && nb ? dot / Math.sqrt(na * nb) : 0;
  };
  // Documents without a vector are not in the HNSW graph.
  return docs
    .filter((doc) => Array.isArray(doc._source[field]))
    .map((doc) => ({ doc, score: (1 + cosine((doc._source[field] as number[]) ?? [])) / 2 }))
    .sort((a, b) => b.score - a.score);
}
