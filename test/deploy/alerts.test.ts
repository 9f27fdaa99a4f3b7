import { describe, expect, it } from 'vitest';
import { yamlDocuments } from './repo';

/**
 * The alert rules of the monitoring profile: loaded by Prometheus (mounted where prometheus.yml
 * looks), and each rule asks about series the hub exports, so "no worker alive" can really fire.
 */
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}

async function exportedMetricNames(): Promise<Set<string>> {
  await import('../../core/bus/backlog-gauge');
  const { registry } = await import('../../core/metrics');
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
}

describe('monitoring alert rules', () => {
  const prometheus = yamlDocuments('deploy/monitoring/prometheus.yml')[0] as { rule_files?: string[] };
  const compose = yamlDocuments('docker-compose.yml')[0] as {
    services: Record<string, { volumes?: string[] }>;
  };
  const groups = (yamlDocuments('deploy/monitoring/alerts.yml')[0] as { groups: Array<{ rules: Rule[] }> })
    .groups;
  const rules = groups.flatMap((group) => group.rules);

  it('are mounted where prometheus.yml loads them from', () => {
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    expect(compose.services.prometheus?.volumes).toContain(
      './deploy/monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro',
    );
  });

  it('alert when no worker is alive and when the oldest message waits too long, on exported series', async () => {
    expect(rules.map((rule) => rule.alert)).toEqual(['HubNoWorkerAlive', 'HubOldestMessageTooOld']);
    expect(rules[0]?.expr).toContain('hub_workers_alive');
    expect(rules[1]?.expr).toContain('hub_bus_oldest_message_age_seconds');
    const exported = await exportedMetricNames();
    for (const rule of rules) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      for (const [name] of rule.expr.matchAll(/\bhub_[a-z0-9_]+/g)) {
        expect(exported.has(name), `${rule.alert}: ${name}`).toBe(true);
      }
    }
  });
});
