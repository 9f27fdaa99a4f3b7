import type { errors as ElasticsearchErrors } from '@elastic/elasticsearch';
import type { OnlineCheckFor } from '../../../config/online';
import { HubError } from '../../../types/errors';

export interface ElasticsearchConnection {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
}

const CREDENTIALS = 'knowledge.elasticsearch.apiKey (ELASTICSEARCH_API_KEY), or username and password';

/**
 * `hub validate --online`: `GET /` (the cluster's name and version, which needs only a valid
 * login), then the licence and the hybrid-search mode the retriever will choose from it, as
 * start-up does (cluster.ts; a licence the user may not read means `_msearch`, not a failure).
 */
export const checkElasticsearchOnline: OnlineCheckFor<ElasticsearchConnection> = async (
  options,
  { signal },
) => {
  // Loaded here, not at start-up: the client library is only needed where the retriever is used.
  const [{ errors }, { chooseHybridMode, detectCluster }, { createElasticsearchClient }] = await Promise.all([
    import('@elastic/elasticsearch'),
    import('./cluster'),
    import('./retriever'),
  ]);
  const client = createElasticsearchClient(options);
  try {
    const info = await client.info({}, { signal, maxRetries: 0 }).catch((error: unknown) => {
      throw explain('GET /', options.url, error, errors);
    });
    const cluster = `Elasticsearch ${info.version.number} (cluster ${info.cluster_name})`;
    const { mode, facts } = chooseHybridMode(await detectCluster(client, { signal, maxRetries: 0 }));
    const licence = facts.licence
      ? `licence ${facts.licence.type} (${facts.licence.status})`
      : 'licence not readable by this user (no monitor privilege)';
    return `${cluster}, ${licence}, hybrid search by ${mode}`;
  } finally {
    await client.close().catch(() => undefined);
  }
};

function explain(what: string, url: string, error: unknown, errors: typeof ElasticsearchErrors): HubError {
  const origin = originOf(url);
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const body = error.body as { error?: { type?: string; reason?: string } } | undefined;
    const reason = body?.error?.reason ?? body?.error?.type ?? error.message;
    const fix =
      status === 401 || status === 403
        ? `check ${CREDENTIALS}`
        : status === 429 || status >= 500
          ? 'retry later; the cluster may be overloaded or starting'
          : 'check knowledge.elasticsearch.url';
    return new HubError(
      status === 401 || status === 403 ? 'adapter.auth' : 'online.failed',
      `${what}: ${status} ${reason}. Fix: ${fix}.`,
      { cause: error },
    );
  }
  if (error instanceof errors.ProductNotSupportedError) {
    return new HubError(
      'online.failed',
      `${what}: ${origin} is not Elasticsearch. Fix: point knowledge.elasticsearch.url at an Elasticsearch node.`,
      { cause: error },
    );
  }
  return new HubError(
    'online.failed',
    `${what}: no answer from ${origin} (${(error as Error).name}). Fix: check knowledge.elasticsearch.url and the network.`,
    { cause: error },
  );
}

/** The URL without any credentials in it. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'knowledge.elasticsearch.url';
  }
}
