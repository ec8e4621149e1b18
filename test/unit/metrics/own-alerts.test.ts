// nodeheal's own alerts (alert-rules/prometheus/nodeheal.yaml) and its metrics: the chart ships an
// exact copy of the rules, every alert has its annotations and a runbook, none is routed to
// nodeheal, every metric a rule reads exists, and docs/metrics.md lists every metric nodeheal
// registers. The default process metrics keep their standard names.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createHealMetrics, createMetrics } from '../../../src/metrics/index.ts';
import { repoRoot } from '../../stack/paths.ts';

const read = (...parts: string[]) => readFileSync(join(repoRoot, ...parts), 'utf8');
const rulesText = read('alert-rules', 'prometheus', 'nodeheal.yaml');
const rules = (
  parse(rulesText) as {
    groups: {
      rules: {
        alert: string;
        expr: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      }[];
    }[];
  }
).groups.flatMap((g) => g.rules);
const metricsDoc = read('docs', 'metrics.md');

async function registeredNames(): Promise<string[]> {
  const serve = createMetrics('https://nodeheal.example.com');
  const worker = createHealMetrics(undefined, 'https://nodeheal.example.com');
  const all = [
    ...(await serve.registry.getMetricsAsJSON()),
    ...(await worker.registry.getMetricsAsJSON()),
  ];
  return [...new Set(all.map((m) => m.name))];
}

describe('alert-rules/prometheus/nodeheal.yaml', () => {
  it('is shipped byte for byte in the chart (fix: cp it to charts/nodeheal/files/)', () => {
    expect(read('charts', 'nodeheal', 'files', 'nodeheal.yaml')).toBe(rulesText);
    expect(read('charts', 'nodeheal', 'templates', 'prometheusrule.yaml')).toContain(
      'files/nodeheal.yaml',
    );
  });

  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s has summary, description, a runbook and a severity, and is not routed to nodeheal',
    (alert, rule) => {
      expect(alert).toMatch(/^Nodeheal[A-Z]/);
      expect(rule.annotations.summary).toBeTruthy();
      expect(rule.annotations.description).toBeTruthy();
      expect(rule.annotations.runbook_url).toBe(
        `https://github.com/nodeheal/nodeheal/blob/main/docs/runbooks/${alert}.md`,
      );
      expect(existsSync(join(repoRoot, 'docs', 'runbooks', `${alert}.md`))).toBe(true);
      expect(rule.labels.severity).toMatch(/^(none|warning|critical)$/);
      expect(rule.labels.nodeheal).toBeUndefined();
    },
  );

  it('reads only metrics nodeheal registers', async () => {
    const names = await registeredNames();
    const used = new Set(rules.flatMap((r) => r.expr.match(/nodeheal_[a-z_]+/g) ?? []));
    const annotations = rules.flatMap((r) => Object.values(r.annotations)).join('\n');
    for (const m of annotations.match(/nodeheal_[a-z_]+/g) ?? []) used.add(m);
    for (const metric of used) expect(names, metric).toContain(metric);
  });
});

describe('metrics', () => {
  it('docs/metrics.md lists every metric nodeheal registers', async () => {
    for (const name of await registeredNames()) {
      if (name.startsWith('process_') || name.startsWith('nodejs_')) continue;
      expect(metricsDoc, name).toContain(`\`${name}\``);
    }
    expect(metricsDoc).toContain('`process_*`');
    expect(metricsDoc).toContain('`nodejs_*`');
  });

  it('the default process and Node.js metrics keep their standard names, with build info', async () => {
    const names = await registeredNames();
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
    expect(names.some((n) => n.startsWith('nodeheal_process_'))).toBe(false);
    const text = await createMetrics().registry.metrics();
    expect(text).toMatch(/^nodeheal_build_info\{version="[^"]+",nodejs_version="v\d+[^"]*"\} 1$/m);
    expect(text).not.toContain('nodeheal_public_url_info');
  });
});
