// The Grafana dashboard (charts/nodeheal/files/dashboard.json) against the stack's real
// Prometheus: every panel query and template variable query, with Grafana's variables replaced
// by values Grafana could send, must be accepted; each may only name metrics nodeheal exports
// (read from its registries) or kube-state-metrics' (kube_*); nodeheal's series are filtered by
// the `cluster` variable; and the heals-in-progress table links to the status pages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createHealMetrics, createMetrics, observeHealStep } from '../../src/metrics/index.ts';
import { statusLinks } from '../../src/status/index.ts';
import { queryPrometheus } from '../stack/helpers/prometheus.ts';
import { repoRoot } from '../stack/paths.ts';

const stack = inject('stack');

interface Target {
  refId: string;
  expr?: string;
}
interface Link {
  title: string;
  url: string;
}
interface Override {
  matcher: { id: string; options: string };
  properties: { id: string; value: unknown }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { links?: Link[] }; overrides?: Override[] };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  allValue?: string;
  includeAll?: boolean;
}
interface Dashboard {
  links: Link[];
  templating: { list: Variable[] };
  panels: Panel[];
}

const dashboard = JSON.parse(
  readFileSync(join(repoRoot, 'charts', 'nodeheal', 'files', 'dashboard.json'), 'utf8'),
) as Dashboard;

/** Values Grafana could put in for its variables (and the dashboard's own). */
const VARIABLES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '30s',
  __interval_ms: '30000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
  cluster: '.*',
  datasource: 'prometheus',
};

/** Replaces `$var`, `${var}` and `${var:format}`; an unknown variable fails the test. */
function substitute(expr: string): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_all, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    const value = VARIABLES[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in ${expr}`);
    return value;
  });
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** The PromQL of a template variable: `label_values(expr, label)` and `query_result(expr)`. */
function variablePromql(v: Variable): string | undefined {
  const query = typeof v.query === 'string' ? v.query : v.query?.query;
  if (v.type !== 'query' || !query) return undefined;
  const labelValues = /^label_values\((.*),\s*\w+\)$/s.exec(query.trim());
  if (labelValues) return labelValues[1];
  const result = /^query_result\((.*)\)$/s.exec(query.trim());
  if (result) return result[1];
  if (/^(label_names|metrics|label_values)\(/.test(query.trim())) return undefined;
  return query;
}

interface Query {
  where: string;
  expr: string;
}

const queries: Query[] = [
  ...allPanels(dashboard.panels).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => t.expr !== undefined && t.expr.trim() !== '')
      .map((t) => ({ where: `panel ${p.id} "${p.title}" target ${t.refId}`, expr: t.expr! })),
  ),
  ...dashboard.templating.list.flatMap((v) => {
    const expr = variablePromql(v);
    return expr === undefined ? [] : [{ where: `variable $${v.name}`, expr }];
  }),
];

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
  'atan2',
]);

/**
 * The metric names an expression selects: identifiers that are not functions or aggregations
 * (followed by `(`), keywords, label names (inside `{}` or a grouping list) or durations.
 */
function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const rest = bare.slice(m.index + m[0].length).trimStart();
    if (rest.startsWith('(')) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Every series name nodeheal's registries (serve and worker) export. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of [createMetrics().registry, createHealMetrics().registry]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      // prom-client types `type` as a numeric enum; at run time it is the exposition's word.
      const type = metric.type as unknown as string;
      if (type === 'histogram') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      }
      if (type === 'summary') {
        for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
      }
    }
  }
  return names;
}

let exported: Set<string>;

beforeAll(async () => {
  exported = await exportedNames();
});

describe('metricNames', () => {
  it('finds selectors, not functions, keywords, labels or durations', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, stage) (rate(nodeheal_heal_stage_seconds_bucket{cluster=~"a|b", x="y(z)"}[5m] offset 1h)))',
      ),
    ).toEqual(['nodeheal_heal_stage_seconds_bucket']);
    expect(
      metricNames(
        'time() - max by (node) (kube_node_info) * on (node) group_left (pool) nodeheal_storm_active > bool 0',
      ),
    ).toEqual(['kube_node_info', 'nodeheal_storm_active']);
  });
});

describe('charts/nodeheal/files/dashboard.json', () => {
  it('has panel queries and the cluster variable', () => {
    expect(queries.length).toBeGreaterThan(10);
    const cluster = dashboard.templating.list.find((v) => v.name === 'cluster');
    expect(cluster?.type).toBe('query');
    // All matches series without the label too (a Prometheus queried directly has none).
    expect(cluster?.includeAll).toBe(true);
    expect(cluster?.allValue).toBe('.*');
  });

  it.each(queries)('$where is accepted by Prometheus', async ({ expr }) => {
    // Throws with Prometheus' error unless the answer is `success`.
    await queryPrometheus(stack.prometheusUrl!, substitute(expr));
  });

  it.each(queries)('$where names only nodeheal or kube-state-metrics metrics', ({ expr }) => {
    const names = metricNames(expr);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const known =
        exported.has(name) ||
        name.startsWith('kube_') ||
        name.startsWith('process_') ||
        name.startsWith('nodejs_');
      expect(known, `${name} is neither exported by nodeheal nor kube-state-metrics'`).toBe(true);
    }
  });

  it.each(queries.filter((q) => q.where.startsWith('panel')))(
    '$where filters nodeheal series by cluster',
    ({ expr }) => {
      for (const m of expr.matchAll(/\b(nodeheal_\w+)(\{[^}]*\})?/g)) {
        expect(m[2] ?? '', `${m[1]} in ${expr}`).toContain('cluster=~"$cluster"');
      }
    },
  );

  it("the heals-in-progress table links each node and heal to nodeheal's status pages", async () => {
    const table = allPanels(dashboard.panels).find(
      (p) =>
        p.type === 'table' &&
        p.targets?.some((t) => t.expr?.includes('nodeheal_heal_step_start_time_seconds')),
    );
    expect(table, 'a table of nodeheal_heal_step_start_time_seconds').toBeDefined();
    const links = (field: string) =>
      table!.fieldConfig?.overrides
        ?.filter((o) => o.matcher.id === 'byName' && o.matcher.options === field)
        .flatMap((o) => o.properties.filter((p) => p.id === 'links'))
        .flatMap((p) => p.value as Link[]) ?? [];
    const nodeLinks = links('node').map((l) => l.url);
    const healLinks = links('heal_id').map((l) => l.url);
    expect(nodeLinks).toEqual(['${nodeheal_url}/nodes/${__data.fields.node}']);
    expect(healLinks).toEqual(['${nodeheal_url}/heals/${__data.fields.heal_id}']);

    // What Grafana opens is what nodeheal's own links are (statusLinks, NODEHEAL_PUBLIC_URL).
    const base = 'https://nodeheal.example.com/status';
    const grafana = (url: string, fields: Record<string, string>) =>
      url
        .replace('${nodeheal_url}', base)
        .replace(/\$\{__data\.fields\.(\w+)\}/g, (_all, name: string) => fields[name]!);
    const own = statusLinks(base);
    expect(grafana(nodeLinks[0]!, { node: 'worker-7' })).toBe(own.node('worker-7'));
    expect(grafana(healLinks[0]!, { heal_id: 'heal-42' })).toBe(own.heal('heal-42'));

    // The variable exists and the chart fills it (config.publicUrl); the top link uses it too.
    const url = dashboard.templating.list.find((v) => v.name === 'nodeheal_url');
    expect(url?.query).toBe('__NODEHEAL_PUBLIC_URL__');
    expect(dashboard.links.map((l) => l.url)).toContain('${nodeheal_url}/heals');

    // The fields the links read are labels of the series the worker exports, and kept by the
    // table's query.
    const metrics = createHealMetrics();
    observeHealStep(metrics, 'heal-42', {
      node: 'worker-7',
      fault: 'NodeNotReady',
      step: 1,
      action: 'drain',
      state: 'acting',
      gate: '',
      startedAt: 1_700_000_000_000,
    });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /nodeheal_heal_step_start_time_seconds\{node="worker-7",fault="NodeNotReady",heal_id="heal-42",step="1",action="drain",state="acting",gate=""\} 1700000000/,
    );
    const expr = table!.targets!.map((t) => t.expr).join('\n');
    expect(expr).toMatch(/by \([^)]*\bnode\b[^)]*\)/);
    expect(expr).toMatch(/by \([^)]*\bheal_id\b[^)]*\)/);
    observeHealStep(metrics, 'heal-42', null);
    expect(await metrics.registry.metrics()).not.toContain('heal_id="heal-42"');
  });
});
