import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../core/config/load';
import { existsInRepo, filesBelow, readRepoFile, repoPath, yamlDocuments } from './repo';

/**
 * Every Kubernetes manifest (deploy/k8s for the hub, gpu-serving/k8s for vLLM) validated offline
 * against the Kubernetes OpenAPI schemas (npm kubernetes-models; KEDA's CRD schema from
 * @kubernetes-models/keda). Those schemas check types, required fields, formats and enums, but like the
 * API server without strict field validation they let an unknown key through. The Kustomize overlays
 * are rendered with `kubectl kustomize` when kubectl is on PATH (the node-svc machines have it); the
 * base and the components are also validated file by file, so a machine without kubectl still checks
 * every object.
 */
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };
type Container = {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  tolerations?: Array<{ key: string; effect?: string }>;
  volumes?: Array<{
    name: string;
    configMap?: { name: string };
    persistentVolumeClaim?: { claimName: string };
  }>;
};
type Workload = Manifest & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: Array<{ metadata: { name: string }; spec: { accessModes: string[] } }>;
  };
};

type Hpa = Manifest & {
  spec: {
    scaleTargetRef: { name: string };
    minReplicas?: number;
    metrics: Array<{ resource?: unknown; external?: unknown }>;
  };
};
type ScaledObject = Manifest & {
  spec: {
    scaleTargetRef: { name: string };
    triggers: Array<{ type: string; metadata: Record<string, string> }>;
  };
};

const GROUP_MODULES: Record<string, string> = {
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
};

/** Validate one object with the kubernetes-models class of its apiVersion and kind; throws with the schema's message. */
async function validateManifest(manifest: Manifest, where: string): Promise<void> {
  const module = GROUP_MODULES[manifest.apiVersion] ?? `kubernetes-models/${manifest.apiVersion}`;
  const models = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[manifest.kind];
  if (!Model) throw new Error(`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
  try {
    new Model(manifest).validate();
  } catch (error) {
    throw new Error(`${where}: ${manifest.kind} ${manifest.metadata?.name}: ${(error as Error).message}`);
  }
}

const isManifestFile = (file: string) =>
  !/(kustomization|hub|prometheus-adapter-rule)\.yaml$/.test(file) && /\.ya?ml$/.test(file);
const manifestFiles = [...filesBelow('deploy/k8s'), ...filesBelow('gpu-serving/k8s')].filter(isManifestFile);
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const OVERLAYS = ['production', 'production-prometheus-adapter'];

function render(overlay: string): Manifest[] {
  const out = execFileSync('kubectl', ['kustomize', repoPath('deploy/k8s/overlays', overlay)], {
    encoding: 'utf8',
  });
  return parseAllDocuments(out).map((doc) => doc.toJS() as Manifest);
}
const find = <T extends Manifest>(objects: Manifest[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;

describe('Kubernetes manifests: schema validation', () => {
  it('validates every manifest file of the base, the components and the vLLM deployment', async () => {
    expect(manifestFiles.length).toBeGreaterThanOrEqual(14);
    for (const file of manifestFiles) {
      const docs = yamlDocuments(file) as Manifest[];
      expect(docs.length, file).toBeGreaterThan(0);
      for (const doc of docs) await validateManifest(doc, file);
    }
  });

  it('rejects what the schemas forbid, so a pass means something', async () => {
    const [api] = yamlDocuments('deploy/k8s/base/api-deployment.yaml') as Workload[];
    const broken = structuredClone(api as Workload);
    (broken.spec.template.spec.containers[0] as Container).resources = { limits: { memory: 'lots' } };
    await expect(validateManifest(broken, 'mutated')).rejects.toThrow(/quantity/);
    const [scaled] = yamlDocuments('deploy/k8s/components/worker-keda/scaledobject.yaml') as Manifest[];
    await expect(
      validateManifest({ ...(scaled as Manifest), spec: { triggers: [] } }, 'mutated'),
    ).rejects.toThrow(/scaleTargetRef/);
  });

  it('lists every manifest file in a kustomization, and every listed path exists', () => {
    const listed = new Set<string>();
    for (const file of filesBelow('deploy/k8s').filter((f) => f.endsWith('kustomization.yaml'))) {
      const dir = file.replace(/\/kustomization\.yaml$/, '');
      const k = yamlDocuments(file)[0] as {
        resources?: string[];
        components?: string[];
        configMapGenerator?: Array<{ files: string[] }>;
      };
      const paths = [...(k.resources ?? []), ...(k.components ?? [])];
      for (const generated of k.configMapGenerator ?? []) paths.push(...generated.files);
      for (const path of paths) {
        const target = repoPath(dir, path).slice(repoPath().length + 1);
        expect(existsInRepo(target), `${file}: ${path}`).toBe(true);
        listed.add(target);
      }
    }
    const unlisted = filesBelow('deploy/k8s').filter(
      (f) => isManifestFile(f) && !f.endsWith('secret.example.yaml') && !listed.has(f),
    );
    expect(unlisted).toEqual([]);
  });

  it('ships a hub.yaml that the hub itself accepts, with every secret from the environment', () => {
    const env = { DATABASE_URL: 'postgres://hub:x@postgres:5432/hub', REDIS_URL: 'redis://redis:6379' };
    const config = parseConfig(yamlDocuments('deploy/k8s/base/hub.yaml')[0], env, 'deploy/k8s/base/hub.yaml');
    expect(config.bus.driver).toBe('bullmq');
    expect(config.state.driver).toBe('redis');
    expect(config.database).toMatchObject({ driver: 'postgres', url: env.DATABASE_URL });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 3000 });
    expect(readRepoFile('deploy/k8s/base/hub.yaml')).not.toMatch(/password|token|secret:/i);
  });
});

describe.skipIf(!kubectl)('Kustomize overlays, rendered by kubectl kustomize', () => {
  it.each(OVERLAYS)('%s renders to objects that validate', async (overlay) => {
    const objects = render(overlay);
    expect(objects.length).toBeGreaterThanOrEqual(11);
    for (const object of objects) {
      expect(object.metadata).toMatchObject({ namespace: 'hub' });
      await validateManifest(object, overlay);
    }
  });

  it.each(OVERLAYS)(
    '%s: api and worker probe their own dependencies, drain gracefully, have resources',
    (overlay) => {
      const objects = render(overlay);
      for (const [name, role, port] of [
        ['hub-api', 'api', 'http'],
        ['hub-worker', 'worker', 'ops'],
      ] as const) {
        const workload = find<Workload>(objects, 'Deployment', name) as Workload;
        expect(workload, name).toBeDefined();
        // The autoscaler owns the count.
        expect(workload.spec.replicas, name).toBeUndefined();
        const pod = workload.spec.template.spec;
        const [hub] = pod.containers;
        if (!hub) throw new Error(`${name} has no container`);
        expect(hub.args).toEqual(['start', '--config', '/etc/hub/hub.yaml', '--role', role]);
        expect(hub.readinessProbe?.httpGet).toEqual({ path: '/readyz', port });
        expect(hub.livenessProbe?.httpGet).toEqual({ path: '/healthz', port });
        expect(hub.ports?.map((p) => p.name)).toContain(port);
        // The grace period covers the hub's own drain deadline and the preStop pause.
        const drainMs = Number(hub.env?.find((e) => e.name === 'HUB_SHUTDOWN_TIMEOUT_MS')?.value);
        const preStop = Number(hub.lifecycle?.preStop?.exec?.command[1] ?? 0);
        expect(drainMs).toBeGreaterThan(0);
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drainMs / 1000 + preStop);
        for (const kind of ['requests', 'limits'] as const) {
          expect(Object.keys(hub.resources?.[kind] ?? {}).sort(), `${name} ${kind}`).toEqual([
            'cpu',
            'memory',
          ]);
        }
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(hub.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(hub.volumeMounts?.map((m) => m.mountPath).sort()).toEqual([
          '/app/.hub-data',
          '/etc/hub',
          '/tmp',
        ]);
        // The config volume is the generated ConfigMap; secrets come from the Secret of secret.example.yaml.
        const configMap = pod.volumes?.find((v) => v.name === 'config')?.configMap?.name ?? '';
        expect(find(objects, 'ConfigMap', configMap), configMap).toBeDefined();
        const secret = (yamlDocuments('deploy/k8s/base/secret.example.yaml')[0] as Manifest).metadata.name;
        expect(hub.envFrom?.map((e) => e.secretRef?.name)).toEqual([secret]);
      }
      const api = find<Workload>(objects, 'Deployment', 'hub-api') as Workload;
      expect(api.spec.template.spec.containers[0]?.lifecycle?.preStop?.exec?.command[0]).toBe('sleep');
    },
  );

  it.each(OVERLAYS)(
    '%s: Service, Ingress with TLS, PDBs and NetworkPolicy select the pods they mean',
    (overlay) => {
      const objects = render(overlay);
      const labelsOf = (name: string) =>
        (find<Workload>(objects, 'Deployment', name) as Workload).spec.template.metadata.labels;
      const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
        Object.entries(selector).every(([key, value]) => labels[key] === value);
      const service = find<Manifest & { spec: { selector: Record<string, string> } }>(
        objects,
        'Service',
        'hub-api',
      );
      expect(selects(service?.spec.selector ?? { none: 'x' }, labelsOf('hub-api'))).toBe(true);
      expect(selects(service?.spec.selector ?? {}, labelsOf('hub-worker'))).toBe(false);
      const ingress = find<
        Manifest & {
          spec: {
            tls: unknown[];
            rules: Array<{ http: { paths: Array<{ backend: { service: { name: string } } }> } }>;
          };
        }
      >(objects, 'Ingress', 'hub-api');
      expect(ingress?.spec.tls.length).toBeGreaterThan(0);
      expect(ingress?.spec.rules[0]?.http.paths[0]?.backend.service.name).toBe('hub-api');
      for (const name of ['hub-api', 'hub-worker']) {
        const pdb = find<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>(
          objects,
          'PodDisruptionBudget',
          name,
        );
        expect(selects(pdb?.spec.selector.matchLabels ?? { none: 'x' }, labelsOf(name)), name).toBe(true);
      }
      const policy = find<
        Manifest & {
          spec: {
            podSelector: { matchLabels: Record<string, string> };
            ingress: Array<{ ports: Array<{ port: number }> }>;
          };
        }
      >(objects, 'NetworkPolicy', 'hub');
      const allowed = new Set(policy?.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)));
      for (const name of ['hub-api', 'hub-worker']) {
        expect(selects(policy?.spec.podSelector.matchLabels ?? { none: 'x' }, labelsOf(name))).toBe(true);
        const ports = (find<Workload>(objects, 'Deployment', name) as Workload).spec.template.spec
          .containers[0]?.ports;
        for (const port of ports ?? [])
          expect(allowed.has(port.containerPort), `${name} ${port.containerPort}`).toBe(true);
      }
    },
  );

  it('scales the api on CPU and the workers on hub_bus_backlog, by KEDA or by the Prometheus adapter', () => {
    const concurrency = String(
      parseConfig(yamlDocuments('deploy/k8s/base/hub.yaml')[0], { DATABASE_URL: 'x', REDIS_URL: 'x' }).bus
        .concurrency,
    );
    for (const overlay of OVERLAYS) {
      const apiHpa = find<Hpa>(render(overlay), 'HorizontalPodAutoscaler', 'hub-api');
      expect(apiHpa?.spec.scaleTargetRef.name).toBe('hub-api');
      expect(apiHpa?.spec.metrics[0]?.resource).toMatchObject({
        name: 'cpu',
        target: { type: 'Utilization' },
      });
      expect(apiHpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
    const keda = render('production');
    const scaled = find<ScaledObject>(keda, 'ScaledObject', 'hub-worker');
    expect(scaled?.spec.scaleTargetRef.name).toBe('hub-worker');
    expect(scaled?.spec.triggers[0]?.type).toBe('prometheus');
    expect(scaled?.spec.triggers[0]?.metadata.query).toMatch(/^max\(hub_bus_backlog\{namespace="hub"\}\)$/);
    expect(scaled?.spec.triggers[0]?.metadata.threshold).toBe(concurrency);
    expect(find(keda, 'HorizontalPodAutoscaler', 'hub-worker')).toBeUndefined();

    const adapter = render('production-prometheus-adapter');
    const hpa = find<Hpa>(adapter, 'HorizontalPodAutoscaler', 'hub-worker');
    expect(hpa?.spec.scaleTargetRef.name).toBe('hub-worker');
    expect(hpa?.spec.metrics[0]?.external).toEqual({
      metric: { name: 'hub_bus_backlog' },
      target: { type: 'AverageValue', averageValue: concurrency },
    });
    expect(find(adapter, 'ScaledObject', 'hub-worker')).toBeUndefined();
    const rule = yamlDocuments(
      'deploy/k8s/components/worker-prometheus-adapter/prometheus-adapter-rule.yaml',
    )[0] as {
      rules: { external: Array<{ seriesQuery: string; name: { as: string } }> };
    };
    expect(rule.rules.external[0]?.name.as).toBe('hub_bus_backlog');
  });
});

describe('vLLM manifests (gpu-serving/k8s)', () => {
  const docs = [
    ...yamlDocuments('gpu-serving/k8s/deployment.yaml'),
    ...yamlDocuments('gpu-serving/k8s/hpa.yaml'),
    ...yamlDocuments('gpu-serving/k8s/lora-adapters-pvc.yaml'),
  ] as Manifest[];
  const vllm = find<Workload>(docs, 'StatefulSet', 'vllm-qwen3-14b') as Workload;

  it('gives each replica its own model cache and shares only the read-only adapters', () => {
    expect(vllm.spec.volumeClaimTemplates?.map((t) => [t.metadata.name, t.spec.accessModes])).toEqual([
      ['models', ['ReadWriteOnce']],
    ]);
    const claims = vllm.spec.template.spec.volumes?.flatMap((v) =>
      v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
    );
    expect(claims).toEqual(['lora-adapters']);
    const pvc = find<Manifest & { spec: { accessModes: string[] } }>(
      docs,
      'PersistentVolumeClaim',
      'lora-adapters',
    );
    expect(pvc?.spec.accessModes).toEqual(['ReadOnlyMany']);
  });

  it('tolerates GPU taints, is pinned, has a disruption budget, and the HPA scales the StatefulSet', () => {
    const pod = vllm.spec.template.spec;
    expect(pod.tolerations?.some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule')).toBe(true);
    const image = (pod.containers[0] as Container & { image: string }).image;
    expect(image).toMatch(/^vllm\/vllm-openai:v\d+\.\d+\.\d+$/);
    const compose = readRepoFile('docker-compose.yml');
    expect(compose).toContain(`image: ${image}`);
    const pdb = find<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      docs,
      'PodDisruptionBudget',
      'vllm-qwen3-14b',
    );
    expect(pdb?.spec.selector.matchLabels).toEqual(vllm.spec.selector.matchLabels);
    const hpa = find<Manifest & { spec: { scaleTargetRef: { kind: string; name: string } } }>(
      docs,
      'HorizontalPodAutoscaler',
      'vllm-qwen3-14b',
    );
    expect(hpa?.spec.scaleTargetRef).toMatchObject({ kind: 'StatefulSet', name: 'vllm-qwen3-14b' });
    expect(vllm.spec.replicas).toBeUndefined();
    expect(
      find(docs, 'Service', (vllm.spec as unknown as { serviceName: string }).serviceName),
    ).toBeDefined();
  });
});
