// `nodeheal rules check --prometheus FILE`: what the shipped catalog does with a user's alerting
// rules. The rule files below are written for these tests to behave like kube-prometheus-stack's
// node alerts (names, `for`, the shape of the expressions); they are not the mixin's files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkPrometheusRules,
  checkPrometheusRulesFile,
  type Row,
} from '../../../src/cli/check-prometheus-rules.ts';
import { nodeVerdict } from '../../../src/cli/prometheus-node-label.ts';
import { loadCatalog, type Catalog } from '../../../src/rules/index.ts';

const REMEDIES = fileURLToPath(new URL('../../../alert-rules/remedies.yaml', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'main.ts');
const MIN = 60_000;

function shippedCatalog(): Catalog {
  const loaded = loadCatalog(readFileSync(REMEDIES, 'utf8'), 'alert-rules/remedies.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.catalog;
}
const catalog = shippedCatalog();

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-prometheus-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const NODE_RULES = `groups:
  - name: kubernetes-nodes
    rules:
      - record: cluster:node_cpu:ratio
        expr: sum by (cluster) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
      - alert: KubeNodeNotReady
        expr: |
          kube_node_status_condition{job="kube-state-metrics",condition="Ready",status="true"} == 0
          and on (cluster, node)
          kube_node_spec_unschedulable{job="kube-state-metrics"} == 0
        for: 15m
        labels:
          severity: warning
      - alert: KubeNodePressure
        expr: |
          kube_node_status_condition{condition=~"(MemoryPressure|DiskPressure|PIDPressure)",status="true"} == 1
          and on (cluster, node)
          kube_node_spec_unschedulable == 0
        for: 10m
        labels:
          severity: info
      - alert: KubeletDown
        expr: absent(up{job="kubelet"} == 1)
        for: 15m
        labels:
          severity: critical
  - name: node-exporter
    rules:
      - alert: NodeFilesystemAlmostOutOfSpace
        expr: |
          (
            node_filesystem_avail_bytes{fstype!=""} / node_filesystem_size_bytes{fstype!=""} * 100 < 3
          and
            node_filesystem_readonly{fstype!=""} == 0
          )
        for: 30m
      - alert: NodeSystemdServiceFailed
        expr: node_systemd_unit_state{state="failed"} == 1
        for: 5m
      - alert: NodeSwapFillingUp
        expr: (1 - node_memory_SwapFree_bytes / node_memory_SwapTotal_bytes) * 100 > 80
        for: 10m
      - alert: ClusterTooManyNotReadyNodes
        expr: count by (cluster) (kube_node_status_condition{condition="Ready",status="true"} == 0) > 3
        for: 5m
`;

const PROMETHEUS_RULE = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: kubelet
  namespace: monitoring
spec:
  groups:
    - name: kubernetes-system-kubelet
      labels:
        team: platform
      rules:
        - alert: KubeletInstanceUnreachable
          expr: up{job="kubelet", metrics_path="/metrics"} == 0
          for: 2m
        - alert: KubeNodePressure
          expr: kube_node_status_condition{condition="MemoryPressure",status="true"} == 1
          for: 1w
          labels:
            condition: MemoryPressure
            node: worker-1
`;

const indent = (text: string, spaces: string) => text.trimEnd().replaceAll('\n', `\n${spaces}`);
const NODE_RULES_OBJECT = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: nodes
spec:
  ${indent(NODE_RULES, '  ')}
`;
// What \`kubectl get prometheusrules -A -o yaml\` prints, after an unrelated object.
const LIST = `apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-rule
---
apiVersion: v1
kind: List
items:
  - ${indent(PROMETHEUS_RULE, '    ')}
  - ${indent(NODE_RULES_OBJECT, '    ')}
`;

function rowsOf(text: string): Row[] {
  const result = checkPrometheusRules(text, catalog, { fileName: 'rules.yaml', json: false });
  expect(result.exitCode, result.output).toBe(0);
  return result.rows;
}
const row = (rows: Row[], alert: string) => rows.find((r) => r.alert === alert);
const briefly = (r: Row | undefined) =>
  r?.cases.map((c) => [c.when, c.answer, c.fault ?? c.reason, c.debounceMs, c.actsAfterMs]);

describe('checkPrometheusRules with the shipped catalog', () => {
  const rows = rowsOf(NODE_RULES);

  it('reads every alerting rule, in file order, and skips recording rules', () => {
    expect(rows.map((r) => r.alert)).toEqual([
      'KubeNodeNotReady',
      'KubeNodePressure',
      'KubeletDown',
      'NodeFilesystemAlmostOutOfSpace',
      'NodeSystemdServiceFailed',
      'NodeSwapFillingUp',
      'ClusterTooManyNotReadyNodes',
    ]);
    expect(rows[1]?.path).toBe('groups[0].rules[2]');
    expect(
      checkPrometheusRules(NODE_RULES, catalog, { fileName: 'r', json: false }).output,
    ).toMatch(
      /^r: 7 alerting rules, 1 recording rule skipped; catalog alert-rules\/remedies.yaml\n/,
    );
  });

  it("maps a fault with the selector's own debounce, acting for + debounce after the fault began", () => {
    expect(row(rows, 'KubeNodeNotReady')?.answer).toBe('heal');
    expect(briefly(row(rows, 'KubeNodeNotReady'))).toEqual([
      [{}, 'heal', 'node-not-ready', 0, 15 * MIN],
    ]);
    expect(row(rows, 'KubeNodeNotReady')?.cases[0]?.ladder?.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'reboot',
      'replace',
    ]);
    expect(briefly(row(rows, 'NodeFilesystemAlmostOutOfSpace'))).toEqual([
      [{}, 'heal', 'disk-almost-full', 0, 30 * MIN],
    ]);
  });

  it('lists each matcher case of KubeNodePressure (condition comes from the series), then otherwise', () => {
    const pressure = row(rows, 'KubeNodePressure');
    expect(pressure?.answer).toBe('by_label');
    expect(briefly(pressure)).toEqual([
      [{ condition: 'DiskPressure' }, 'heal', 'disk-almost-full', 0, 10 * MIN],
      [{ condition: 'MemoryPressure' }, 'heal', 'memory-pressure', 0, 10 * MIN],
      [{ condition: 'PIDPressure' }, 'heal', 'pid-pressure', 0, 10 * MIN],
      [{}, 'generic', 'unknown', 5 * MIN, 15 * MIN],
    ]);
  });

  it('says which alerts are left alone on purpose, and why', () => {
    expect(row(rows, 'KubeletDown')?.answer).toBe('left_alone');
    expect(row(rows, 'KubeletDown')?.cases[0]?.reason).toMatch(/^cluster-wide/);
    expect(row(rows, 'NodeSystemdServiceFailed')?.answer).toBe('left_alone');
    expect(row(rows, 'NodeSystemdServiceFailed')?.cases[0]?.reason).toMatch(/which unit failed/);
  });

  it('flags an alert the catalog does not know: the generic ladder', () => {
    const swap = row(rows, 'NodeSwapFillingUp');
    expect(swap?.answer).toBe('generic');
    expect(briefly(swap)).toEqual([[{}, 'generic', 'unknown', 5 * MIN, 15 * MIN]]);
    expect(swap?.cases[0]?.ladder?.map((s) => s.action)).toEqual(['cordon', 'drain', 'replace']);
  });

  it('says whether the alerts can be tied to a Node', () => {
    const verdicts = Object.fromEntries(rows.map((r) => [r.alert, [r.node.verdict, r.node.why]]));
    expect(verdicts).toEqual({
      KubeNodeNotReady: ['node', 'kube_node_*'],
      KubeNodePressure: ['node', 'kube_node_*'],
      KubeletDown: ['no_node', 'absent()'],
      NodeFilesystemAlmostOutOfSpace: ['instance', 'node_*'],
      NodeSystemdServiceFailed: ['instance', 'node_*'],
      NodeSwapFillingUp: ['instance', 'node_*'],
      ClusterTooManyNotReadyNodes: ['no_node', 'count by (cluster)'],
    });
  });

  it('renders a table: one row per alert, cases on their own lines, warnings flagged', () => {
    const { output } = checkPrometheusRules(NODE_RULES, catalog, { fileName: 'r', json: false });
    const lines = output.split('\n');
    expect(lines[2]).toMatch(/^ALERT +FOR +NODEHEAL +NODE LABEL +FAULT \/ LADDER OR REASON$/);
    expect(lines[3]).toMatch(
      /^KubeNodeNotReady +15m +heal +node: kube_node_\* +node-not-ready, debounce 0s: acts 15m \+ 0s = 15m after the fault began; restart-kubelet 3m → reboot 10m → replace 20m$/,
    );
    expect(lines[4]).toMatch(
      /^KubeNodePressure +10m +by label .* condition="DiskPressure" → disk-almost-full,/,
    );
    expect(lines[7]).toMatch(
      /^ +otherwise → GENERIC \(!\) unknown, debounce 5m: acts 10m \+ 5m = 15m/,
    );
    expect(output).toMatch(/\nKubeletDown +15m +left alone +none: absent\(\) +cluster-wide/);
    expect(output).toMatch(/\nNodeSwapFillingUp +10m +GENERIC \(!\) +instance: node_\* +unknown,/);
    expect(output).toMatch(
      /\nClusterTooManyNotReadyNodes .*\n +no node label: nodeheal would ignore it \(no_node\)\n/,
    );
    expect(output).toContain(
      '7 alerts: 2 heal, 1 by label, 2 left alone, 2 generic; 2 without a node label.',
    );
  });

  it('prints the same rows as JSON with --json', () => {
    const result = checkPrometheusRules(NODE_RULES, catalog, { fileName: 'r', json: true });
    const parsed = JSON.parse(result.output) as { recordingRules: number; rules: Row[] };
    expect(parsed.recordingRules).toBe(1);
    expect(parsed.rules).toEqual(JSON.parse(JSON.stringify(rows)));
  });
});

describe('PrometheusRule objects', () => {
  it('reads spec.groups, with group labels under the rule labels, and decides static matchers', () => {
    const rows = rowsOf(PROMETHEUS_RULE);
    expect(rows.map((r) => [r.alert, r.path, r.answer])).toEqual([
      ['KubeletInstanceUnreachable', 'spec.groups[0].rules[0]', 'heal'],
      ['KubeNodePressure', 'spec.groups[0].rules[1]', 'heal'],
    ]);
    expect(briefly(rows[0])).toEqual([[{}, 'heal', 'kubelet-down', MIN, 3 * MIN]]);
    expect(rows[0]?.node).toEqual({
      verdict: 'instance',
      label: 'instance',
      basis: 'guess',
      why: 'up',
    });
    // A static condition label picks its case; `1w` is a Prometheus duration.
    expect(briefly(rows[1])).toEqual([[{}, 'heal', 'memory-pressure', 0, 7 * 24 * 60 * MIN]]);
    expect(rows[1]?.node).toMatchObject({ verdict: 'node', label: 'node', basis: 'static' });
  });

  it('reads a List of them across YAML documents, skipping other objects', () => {
    const result = checkPrometheusRules(LIST, catalog, { fileName: 'list.yaml', json: false });
    expect(result.exitCode, result.output).toBe(0);
    expect(result.rows).toHaveLength(9);
    expect(result.rows[0]?.path).toBe('documents[1].items[0].spec.groups[0].rules[0]');
    expect(result.rows[2]?.path).toBe('documents[1].items[1].spec.groups[0].rules[1]');
    expect(result.output).toMatch(
      /^list.yaml: 9 alerting rules, 1 recording rule skipped, 1 other object skipped;/,
    );
  });
});

describe('not a rule file: exit 1, naming the path in the YAML', () => {
  const check = (text: string) =>
    checkPrometheusRules(text, catalog, { fileName: 'f.yaml', json: false });

  it('points at the rule, the key or the value that is wrong', () => {
    const result = check(`groups:
  - name: a
    rules:
      - alert: A
        expr: up == 0
  - name: b
    rules:
      - record: b
        expr: up
      - alert: C
        expr: up == 0
        for: soon
      - alert: D
      - labels: { severity: page }
        expr: up == 0
  - rules: []
`);
    expect(result.exitCode).toBe(1);
    expect(result.output.trimEnd().split('\n')).toEqual([
      'f.yaml:12:14: groups[1].rules[1].for: invalid duration "soon"',
      'f.yaml:13:9: groups[1].rules[2].expr: missing required key "expr"',
      'f.yaml:14:9: groups[1].rules[3]: expected alert or record',
      'f.yaml:16:5: groups[2].name: missing required key "name"',
    ]);
  });

  it.each([
    ['the remedy catalog', readFileSync(REMEDIES, 'utf8'), /: not a rule file: expected "groups:"/],
    ['a list', '- alert: A\n  expr: up\n', /^f.yaml:1:1: not a rule file/],
    ['an empty file', '', /^f.yaml:1:1: no rule groups/],
    ['only other objects', 'apiVersion: v1\nkind: ConfigMap\n', /^f.yaml:1:1: no rule groups/],
    ['broken YAML', 'groups: [\n', /^f.yaml:2:1: /],
    [
      'groups that is not a list',
      'groups: { a: 1 }\n',
      /^f.yaml:1:9: groups: expected a list, got a mapping/,
    ],
  ])('%s', (_name, text, message) => {
    const result = check(text);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(message);
  });
});

describe('nodeVerdict: static labels, else a guess from the expression', () => {
  it.each([
    ['kube_node_status_condition == 1', {}, 'node', 'kube_node_*'],
    ['kube_pod_info{node!=""}', {}, 'node', 'kube_pod_info'],
    [
      'kube_pod_status_phase{phase="Failed"} > 0',
      {},
      'depends',
      'depends on kube_pod_status_phase',
    ],
    ['up{job="node-exporter"} == 0', {}, 'instance', 'up'],
    ['time() - node_boot_time_seconds < 600', {}, 'instance', 'node_*'],
    ['topk(3, node_load1)', {}, 'instance', 'node_*'],
    ['absent_over_time(up{job="kubelet"}[5m])', {}, 'no_node', 'absent()'],
    ['sum(rate(node_cpu_seconds_total[5m])) > 10', {}, 'no_node', 'sum() without by'],
    ['sum(rate(x[5m])) by (cluster, node) > 1', {}, 'node', 'sum by (cluster, node)'],
    ['max by (instance) (node_load1)', {}, 'instance', 'max by (instance)'],
    ['max without (instance) (node_load1)', {}, 'no_node', 'max without (instance)'],
    ['max without (pod) (node_load1)', {}, 'instance', 'node_*'],
    // A recorded series (a colon in its name) has the labels its recording rule gave it.
    [
      'node_quantile:kubelet_pleg:p99 >= 10',
      {},
      'depends',
      'depends on node_quantile:kubelet_pleg:p99',
    ],
    ['rate(app_errors{path="/node_x"}[5m]) > 1', {}, 'depends', 'depends on app_errors'],
    ['absent(up{job="kubelet"})', { instance: 'h:9100' }, 'instance', 'static instance="h:9100"'],
    ['sum(up)', { kubernetes_node: 'worker-2' }, 'node', 'static kubernetes_node="worker-2"'],
  ])('%s %j', (expr, labels: Record<string, string>, verdict, why) => {
    expect(nodeVerdict(labels, expr)).toMatchObject({ verdict, why });
  });
});

describe('checkPrometheusRulesFile and the CLI: exit codes', () => {
  it('0 when the file was read, whatever the mapping', async () => {
    const result = await checkPrometheusRulesFile(file('ok.yaml', NODE_RULES), REMEDIES, false);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('GENERIC (!)');
  });

  it('1 when it is not a rule file', async () => {
    const result = await checkPrometheusRulesFile(file('bad.yaml', 'groups: 3\n'), REMEDIES, false);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/bad.yaml:1:9: groups: expected a list, got 3/);
  });

  it('2 when the rule file or the catalog cannot be read', async () => {
    const missing = await checkPrometheusRulesFile(join(dir, 'nope.yaml'), REMEDIES, false);
    expect(missing).toMatchObject({
      exitCode: 2,
      output: expect.stringContaining('ENOENT') as string,
    });
    expect((await checkPrometheusRulesFile(dir, REMEDIES, false)).exitCode).toBe(2);
    const noCatalog = await checkPrometheusRulesFile(
      file('ok2.yaml', NODE_RULES),
      join(dir, 'none'),
      false,
    );
    expect(noCatalog.exitCode).toBe(2);
  });

  it('`nodeheal rules check --prometheus` wires the option; --json needs it', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [MAIN, 'rules', 'check', ...args], {
        encoding: 'utf8',
        cwd: ROOT,
      });
    const ok = run([REMEDIES, '--prometheus', file('cli.yaml', PROMETHEUS_RULE), '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { rules: Row[] }).rules).toHaveLength(2);
    expect(run(['--prometheus', join(dir, 'nope.yaml')]).status).toBe(2);
    expect(run([REMEDIES, '--json']).status).toBe(1);
    expect(run([REMEDIES]).stdout).toMatch(/^.*remedies.yaml: valid, 16 faults/);
  });
});
