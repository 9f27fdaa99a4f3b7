import { describe, expect, it } from 'vitest';
import { readRepoFile, yamlDocuments } from './repo';

/**
 * The business dashboard (deploy/monitoring/grafana/dashboards/hub-business.json): valid Grafana
 * JSON, provisioned beside the operations dashboard, importable into another Grafana (its data
 * source is a variable), and every series it queries is one the hub's registry exports.
 */

interface Target {
  expr: string;
  refId: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; query?: unknown }> };
  panels: Panel[];
}

/** Series names in the hub's registry, with a histogram's _bucket, _sum and _count. */
async function exportedMetricNames(): Promise<Set<string>> {
  await import('../../core/analytics/metrics');
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
  return names;
}

const FILE = 'deploy/monitoring/grafana/dashboards/hub-business.json';

describe('the business dashboard', () => {
  const dashboard = JSON.parse(readRepoFile(FILE)) as Dashboard;
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
  const queried = panels.flatMap((panel) => panel.targets ?? []);

  it('is a Grafana dashboard of its own, in the folder Grafana is provisioned from', () => {
    const provider = yamlDocuments('deploy/monitoring/grafana/provisioning/dashboards/hub.yaml')[0] as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
    const operations = JSON.parse(readRepoFile('deploy/monitoring/grafana/dashboards/hub.json')) as Dashboard;
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.uid).not.toBe(operations.uid);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      for (const target of panel.targets ?? []) expect(target.refId, panel.title).toBeTruthy();
    }
  });

  it('asks the data source chosen in its variable, and filters by tenant', () => {
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    expect(variables.find((v) => v.name === 'tenant')?.type).toBe('query');
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? [])
        expect(target.datasource?.uid, panel.title).toBe('${datasource}');
    }
    const business = queried.filter((t) =>
      /hub_(containment|csat|conversation|unanswered|answer_feedback|intent_conf|first_resp|dont_know)/.test(
        t.expr,
      ),
    );
    expect(business.length).toBeGreaterThanOrEqual(9);
    for (const target of business) expect(target.expr).toContain('tenant=~"$tenant"');
  });

  it('queries only series the hub exports: the business gauges and counters, traffic and latency', async () => {
    const exported = await exportedMetricNames();
    for (const panel of panels) {
      for (const { expr } of panel.targets ?? []) {
        const names = [...expr.matchAll(/\bhub_[a-z0-9_]+/g)].map((m) => m[0]);
        expect(names.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) expect(exported.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
    const all = queried.map((t) => t.expr).join(' ');
    for (const essential of [
      'hub_containment_ratio',
      'hub_csat_average',
      'hub_conversations{',
      'hub_first_response_seconds',
      'hub_intent_confidence_bucket',
      'hub_messages_in_total',
      'hub_stage_latency_seconds_bucket',
      'hub_llm_fallbacks_total',
    ]) {
      expect(all).toContain(essential);
    }
  });
});
