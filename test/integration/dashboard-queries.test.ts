// The Grafana dashboard (charts/nodeheal/files/dashboard.json) against the stack's real
// Prometheus: every panel query and template variable query, with Grafana's variables replaced
// by values Grafana could send, must be accepted; each may only name metrics nodeheal exports
// (read from its registries) or kube-state-metrics' (kube_*); nodeheal's series are filtered by
// the `cluster` variable; and the heals-in-progress table links to the status pages. Then over a
// real worker scraped by a Prometheus of the test's own (its series labelled with a cluster): a
// heal held up in its drain is a row of the table's own query, its links open the heal's status
// pages, the row goes when the heal ends, and each of the heal's six stages is observed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { createHealMetrics, createMetrics, observeHealStep } from '../../src/metrics/index.ts';
import { statusLinks } from '../../src/status/index.ts';
import { debianBinaries } from '../stack/debian.ts';
import { makePodsUnevictable, setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { queryPrometheus } from '../stack/helpers/prometheus.ts';
import { poolWithWorkload } from '../stack/helpers/workloads.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { emptyStack, type Stack } from '../stack/stack.ts';
import { httpGet, waitFor } from '../stack/wait.ts';
import { HARNESS_ADMIN_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

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

/** A Prometheus of this test's own, scraping `targets` with the label cluster="<cluster>". */
async function scrapingPrometheus(
  targets: string[],
  cluster: string,
): Promise<{ url: string; stack: Stack }> {
  const stack = emptyStack();
  try {
    const dir = join(stack.info.runDir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        scrape_configs: [
          { job_name: 'nodeheal', static_configs: [{ targets, labels: { cluster } }] },
        ],
      }),
    );
    const port = await freePort();
    const prom = stack.start({
      name: 'prometheus',
      dir,
      command: debianBinaries.prometheus.path,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      'prometheus',
      async () => ((await httpGet(`${url}/-/ready`)) ? true : undefined),
      {
        timeoutMs: 30_000,
        isDead: () => prom.deathReason(),
      },
    );
    return { url, stack };
  } catch (error) {
    await stack.stop({ keepLogs: true });
    throw error;
  }
}

describe('the dashboard over a real worker, scraped by Prometheus', () => {
  const kube = adminClients(stack);
  let harness: Harness | undefined;
  let prometheus: { url: string; stack: Stack } | undefined;

  afterAll(async () => {
    await prometheus?.stack.stop();
    await harness?.stop();
  });

  it('a heal held up in its drain is a table row linking to its pages, until it ends; its stages are observed', async () => {
    harness = await startHarness({
      kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
      ladders: {
        'kernel-deadlock': [
          { action: 'drain', timeout: '120s' },
          { action: 'replace', timeout: '120s' },
        ],
      },
    });
    const cluster = 'dashboard-test';
    prometheus = await scrapingPrometheus(
      harness.workers.map((w) => new URL(w.url).host),
      cluster,
    );
    // A drain a PodDisruptionBudget holds up: the heal stays on its first step.
    const { nodes, namespace } = await poolWithWorkload(kube, 'dash', {
      size: 3,
      replicas: 3,
      minAvailable: 1,
      spread: true,
    });
    const victim = nodes[0]!;
    expect(await makePodsUnevictable(kube, victim)).toBeGreaterThan(0);
    await eventually('pin PDB in force', async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({
        name: `pin-${victim}`,
        namespace,
      });
      return pdb.status?.disruptionsAllowed === 0 && (pdb.status.currentHealthy ?? 0) > 0;
    });
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness.fire(victim, 'NodeKernelDeadlock', {
      condition: 'KernelDeadlock',
      status: 'true',
    });
    const heal = await eventually(
      'the heal draining',
      async () =>
        (await harness!.healsFor(victim)).find(
          (h) => h.status === 'running' && h.stepState === 'acting',
        ),
      30_000,
    );

    // The table's own query, as Grafana sends it for this cluster.
    const table = allPanels(dashboard.panels).find((p) => p.type === 'table')!;
    const tableQuery = table.targets![0]!.expr!.replaceAll('$cluster', cluster);
    const row = await eventually(
      'the heal in the table',
      async () =>
        (await queryPrometheus(prometheus!.url, tableQuery)).find(
          (r) => r.metric.heal_id === heal.id,
        ),
      60_000,
      500,
    );
    expect(row.metric).toMatchObject({
      cluster,
      node: victim,
      fault: 'kernel-deadlock',
      step: '0',
      action: 'drain',
      state: 'acting',
    });
    // Time in step: since the drain began acting.
    const inStep = Number(row.value[1]);
    expect(inStep).toBeGreaterThanOrEqual(0);
    expect(Math.abs(row.value[0] - inStep - heal.stepStartedAt / 1000)).toBeLessThan(2);
    // Another cluster's dashboard does not show it.
    const other = table.targets![0]!.expr!.replaceAll('$cluster', 'elsewhere');
    expect(await queryPrometheus(prometheus.url, other)).toEqual([]);

    // The row's links open nodeheal's pages of this node and heal.
    const link = (field: string) =>
      (
        table.fieldConfig!.overrides!.find((o) => o.matcher.options === field)!.properties[0]!
          .value as Link[]
      )[0]!.url
        .replace('${nodeheal_url}', harness!.serveUrl)
        .replace(/\$\{__data\.fields\.(\w+)\}/g, (_all, name: string) => row.metric[name]!);
    const nodePage = await fetch(link('node'), { headers: { accept: 'application/json' } });
    expect(nodePage.status).toBe(200);
    expect(((await nodePage.json()) as { current: { id: string } | null }).current?.id).toBe(
      heal.id,
    );
    const healPage = await fetch(link('heal_id'), { headers: { accept: 'text/html' } });
    expect(healPage.status).toBe(200);
    expect(await healPage.text()).toContain(victim);

    // Cancelled: the row goes, and the heal's stages are observed once each.
    const cancel = await fetch(`${harness.serveUrl}/heals/${heal.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${HARNESS_ADMIN_TOKEN}` },
    });
    expect(cancel.status).toBeLessThan(300);
    expect((await harness.finishedHeal(victim, 30_000)).status).toBe('cancelled');
    await eventually(
      'the row gone',
      async () =>
        !(await queryPrometheus(prometheus!.url, tableQuery)).some(
          (r) => r.metric.heal_id === heal.id,
        ),
      60_000,
      500,
    );
    for (const stage of ['detection', 'debounce', 'queued', 'gates', 'acting', 'verification'])
      expect(
        await harness.workerMetric('nodeheal_heal_stage_seconds_count', { stage }),
        stage,
      ).toBe(1);
    expect(
      await harness.workerMetric('nodeheal_heal_stage_seconds_sum', { stage: 'acting' }),
    ).toBeGreaterThan(0);
    await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });
  });
});
