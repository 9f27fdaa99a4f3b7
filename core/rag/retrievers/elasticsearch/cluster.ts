import { type Client, errors } from '@elastic/elasticsearch';

/** How a hybrid query is fused: by the cluster's `rrf` retriever, or by the hub over one `_msearch`. */
export type HybridMode = 'rrf' | 'msearch';

/** What the cluster says about itself: `GET /` and `GET /_license`. */
export interface ClusterFacts {
  version?: string;
  /** `default` for a self-managed or hosted cluster, `serverless` for a Serverless project. */
  flavor?: string;
  licence?: { type: string; status: string };
  /** Why the licence could not be read (the credentials lack the `monitor` privilege, ...). */
  licenceUnreadable?: string;
}

export interface ModeDecision {
  mode: HybridMode;
  reason: string;
  facts: ClusterFacts;
}

/**
 * Elasticsearch registers the `rrf` retriever as a licensed feature of operation mode ENTERPRISE
 * (x-pack rank-rrf, RRFRankPlugin); a trial allows every feature, and an expired licence none.
 */
const RRF_LICENCES = new Set(['enterprise', 'trial']);
/** The `retriever` search option, and `rrf` in it, came with 8.14. */
const RRF_RETRIEVER_SINCE: [number, number] = [8, 14];

/**
 * Reads the version and the licence. A licence the cluster refuses to show is recorded, not thrown:
 * the `_msearch` path works on every licence. A cluster that does not answer at all throws.
 */
export async function detectCluster(
  client: Client,
  request: { signal?: AbortSignal; maxRetries?: number } = {},
): Promise<ClusterFacts> {
  const facts: ClusterFacts = {};
  try {
    const info = await client.info({}, request);
    facts.version = info.version.number;
    facts.flavor = info.version.build_flavor;
  } catch (error) {
    if (!(error instanceof errors.ResponseError)) throw error;
  }
  try {
    const { license } = await client.license.get({}, request);
    facts.licence = { type: license.type, status: license.status };
  } catch (error) {
    if (!(error instanceof errors.ResponseError)) throw error;
    facts.licenceUnreadable = `${error.statusCode ?? '?'} ${errorType(error) ?? error.message}`;
  }
  return facts;
}

export function chooseHybridMode(facts: ClusterFacts): ModeDecision {
  const decide = (mode: HybridMode, reason: string) => ({ mode, reason, facts });
  if (facts.flavor === 'serverless') return decide('rrf', 'a Serverless project has no licence tiers');
  if (facts.version && olderThan(facts.version, RRF_RETRIEVER_SINCE)) {
    return decide('msearch', `version ${facts.version} has no rrf retriever (8.14 or newer)`);
  }
  if (!facts.licence) return decide('msearch', `the licence could not be read (${facts.licenceUnreadable})`);
  const { type, status } = facts.licence;
  if (RRF_LICENCES.has(type) && status === 'active') return decide('rrf', `licence ${type} (${status})`);
  return decide(
    'msearch',
    `licence ${type} (${status}) does not include the rrf retriever (an active enterprise or trial licence does)`,
  );
}

/**
 * The refusal Elasticsearch answers a licensed feature with (LicenseUtils.newComplianceException):
 * 403 `security_exception`, "current license is non-compliant for [Reciprocal Rank Fusion (RRF)]",
 * carrying `license.expired.feature`. A 403 for missing privileges has no such field.
 */
export function isLicenceRefusal(error: unknown): boolean {
  if (!(error instanceof errors.ResponseError) || error.statusCode !== 403) return false;
  const cause = (error.body as { error?: Record<string, unknown> } | undefined)?.error;
  return typeof cause?.['license.expired.feature'] === 'string';
}

function errorType(error: InstanceType<typeof errors.ResponseError>): string | undefined {
  const cause = (error.body as { error?: { type?: unknown } } | undefined)?.error;
  return typeof cause?.type === 'string' ? cause.type : undefined;
}

function olderThan(version: string, [major, minor]: [number, number]): boolean {
  const [vMajor = 0, vMinor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return vMajor < major || (vMajor === major && vMinor < minor);
}
