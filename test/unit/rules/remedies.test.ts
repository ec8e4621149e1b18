// The shipped catalog: it loads, and every Prometheus alert that feeds nodeheal has an expert fault.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { leftAlone, loadCatalog, matchFault, type Catalog } from '../../../src/rules/index.ts';

const REMEDIES = new URL('../../../alert-rules/remedies.yaml', import.meta.url);
const PROMETHEUS_RULES = new URL(
  '../../../alert-rules/prometheus/node-health.yaml',
  import.meta.url,
);

const ALERT_NAMES = [
  'NodeNotReady',
  'NodeUnreachable',
  'NodeKernelDeadlock',
  'NodeReadonlyFilesystem',
  'NodeContainerRuntimeUnhealthy',
  'NodeKubeletUnhealthy',
  'NodeMemoryPressure',
  'NodePIDPressure',
  'NodeDiskPressure',
  'NodeNetworkUnavailable',
  'NodeKubeletDown',
  'NodeKubeletLeaseExpired',
  'NodeFilesystemAlmostFull',
  'NodeFilesystemInodesAlmostFull',
  'NodeClockUnsynchronised',
  'NodeKernelOops',
  'NodeNetDeviceUnregisterStuck',
];
/** Alerts of the Prometheus rules the catalog leaves alone, each for a human. */
const LEFT_ALONE_ALERT_NAMES = ['NodeKernelTaskHung'];

const MIN = 60_000;

/**
 * kube-prometheus-stack's node alerts (kubernetes-mixin, node-mixin) the catalog maps, with the
 * `for` their rules wait before firing (the least of the mixin's releases), and the debounce
 * nodeheal adds: the first step comes `for + debounce` after the fault began.
 */
const KUBE_PROMETHEUS_STACK: [alert: string, fault: string, forMs: number, debounceMs: number][] = [
  ['KubeNodeNotReady', 'node-not-ready', 15 * MIN, 0],
  ['KubeNodeUnreachable', 'node-not-ready', 2 * MIN, MIN],
  ['KubeletInstanceUnreachable', 'kubelet-down', 0, MIN],
  ['KubeletPlegDurationHigh', 'container-runtime-down', 5 * MIN, MIN],
  ['NodeFilesystemAlmostOutOfSpace', 'disk-almost-full', 30 * MIN, 0],
  ['NodeFilesystemSpaceFillingUp', 'disk-almost-full', 60 * MIN, 0],
  ['NodeFilesystemAlmostOutOfFiles', 'inodes-almost-full', 60 * MIN, 0],
  ['NodeFilesystemFilesFillingUp', 'inodes-almost-full', 60 * MIN, 0],
  ['NodeClockSkewDetected', 'clock-not-synchronised', 10 * MIN, 0],
  // node-mixin's alert of the name nodeheal's NodeClockUnsynchronised had before.
  ['NodeClockNotSynchronising', 'clock-not-synchronised', 10 * MIN, 2 * MIN],
  ['KubeNodeReadinessFlapping', 'readiness-flapping', 15 * MIN, 0],
];
/** KubeNodePressure is one alert for three conditions: each goes to its own fault. */
const KUBE_NODE_PRESSURE: [condition: string, fault: string][] = [
  ['DiskPressure', 'disk-almost-full'],
  ['MemoryPressure', 'memory-pressure'],
  ['PIDPressure', 'pid-pressure'],
];

function shipped(): Catalog {
  const result = loadCatalog(readFileSync(REMEDIES, 'utf8'), 'alert-rules/remedies.yaml');
  if (!result.ok) throw new Error(`remedies.yaml is invalid: ${JSON.stringify(result.errors)}`);
  return result.catalog;
}

function prometheusAlertNames(): string[] {
  const file = parse(readFileSync(PROMETHEUS_RULES, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string }> }>;
  };
  return file.groups.flatMap((group) => group.rules.flatMap((rule) => rule.alert ?? []));
}

describe('alert-rules/remedies.yaml', () => {
  it('loads without errors', () => {
    expect(shipped().faults.length).toBeGreaterThanOrEqual(11);
  });

  it('names exactly the alerts of the Prometheus rules', () => {
    expect(prometheusAlertNames().sort()).toEqual(
      [...ALERT_NAMES, ...LEFT_ALONE_ALERT_NAMES].sort(),
    );
    const named = new Set(
      shipped().faults.flatMap((fault) => fault.alerts.map((a) => a.alertname)),
    );
    const mapped = [...KUBE_PROMETHEUS_STACK.map(([alert]) => alert), 'KubeNodePressure'];
    expect([...named].sort()).toEqual([...ALERT_NAMES, ...mapped].sort());
  });

  it.each<[string, Record<string, string>, string, string[], number]>([
    ['NodeNotReady', {}, 'node-not-ready', ['restart-kubelet', 'reboot', 'replace'], 2 * MIN],
    ['NodeUnreachable', {}, 'node-not-ready', ['restart-kubelet', 'reboot', 'replace'], 2 * MIN],
    ['NodeKubeletDown', {}, 'kubelet-down', ['restart-kubelet', 'reboot', 'replace'], 2 * MIN],
    [
      'NodeKubeletLeaseExpired',
      { lease: 'worker-1', namespace: 'kube-node-lease' },
      'kubelet-down',
      ['restart-kubelet', 'reboot', 'replace'],
      2 * MIN,
    ],
    [
      'NodeKubeletUnhealthy',
      { condition: 'KubeletUnhealthy' },
      'kubelet-down',
      ['restart-kubelet', 'reboot', 'replace'],
      2 * MIN,
    ],
    [
      'NodeKubeletUnhealthy',
      { condition: 'FrequentKubeletRestart' },
      'kubelet-restart-loop',
      ['reboot', 'replace'],
      2 * MIN,
    ],
    [
      'NodeContainerRuntimeUnhealthy',
      { condition: 'ContainerRuntimeUnhealthy' },
      'container-runtime-down',
      ['restart-container-runtime', 'reboot', 'replace'],
      2 * MIN,
    ],
    [
      'NodeContainerRuntimeUnhealthy',
      { condition: 'FrequentContainerdRestart' },
      'container-runtime-restart-loop',
      ['reboot', 'replace'],
      2 * MIN,
    ],
    [
      'NodeContainerRuntimeUnhealthy',
      { condition: 'FrequentDockerRestart' },
      'container-runtime-restart-loop',
      ['reboot', 'replace'],
      2 * MIN,
    ],
    [
      'NodeFilesystemAlmostFull',
      { mountpoint: '/' },
      'disk-almost-full',
      ['clean-disk', 'drain', 'replace'],
      2 * MIN,
    ],
    ['NodeDiskPressure', {}, 'disk-almost-full', ['clean-disk', 'drain', 'replace'], 2 * MIN],
    [
      'NodeFilesystemInodesAlmostFull',
      {},
      'inodes-almost-full',
      ['clean-disk', 'drain', 'replace'],
      2 * MIN,
    ],
    ['NodeReadonlyFilesystem', {}, 'readonly-filesystem', ['reboot', 'replace'], MIN],
    ['NodeKernelDeadlock', {}, 'kernel-deadlock', ['reboot', 'replace'], MIN],
    ['NodeMemoryPressure', {}, 'memory-pressure', ['drain', 'reboot', 'replace'], 5 * MIN],
    ['NodePIDPressure', {}, 'pid-pressure', ['drain', 'reboot', 'replace'], 5 * MIN],
    [
      'NodeNetworkUnavailable',
      {},
      'network-unavailable',
      ['restart-kubelet', 'reboot', 'replace'],
      3 * MIN,
    ],
    [
      'NodeClockUnsynchronised',
      {},
      'clock-not-synchronised',
      ['sync-clock', 'reboot', 'replace'],
      2 * MIN,
    ],
    ['NodeKernelOops', { reason: 'KernelOops' }, 'kernel-oops', ['reboot', 'replace'], MIN],
    [
      'NodeNetDeviceUnregisterStuck',
      { reason: 'UnregisterNetDevice' },
      'netdevice-stuck',
      ['reboot', 'replace'],
      MIN,
    ],
  ])('%s %j → %s', (alertname, labels, faultName, actions, debounceMs) => {
    const fault = matchFault(shipped(), { alertname, labels: { node: 'worker-1', ...labels } });
    expect(fault.name).toBe(faultName);
    expect(fault.ladder.map((step) => step.action)).toEqual(actions);
    expect(fault.debounceMs).toBe(debounceMs);
  });

  it('sends unknown alerts to the generic ladder cordon → drain → replace', () => {
    const fault = matchFault(shipped(), { alertname: 'NodeHasGremlins', labels: {} });
    expect(fault.name).toBe('unknown');
    expect(fault.ladder.map((step) => step.action)).toEqual(['cordon', 'drain', 'replace']);
    expect(fault.debounceMs).toBe(5 * MIN);
  });

  it('ends every ladder with replace and waits at least 60s before acting on its own alerts', () => {
    const catalog = shipped();
    for (const fault of [...catalog.faults, catalog.generic]) {
      expect(fault.ladder.at(-1)?.action, fault.name).toBe('replace');
      for (const alertname of fault.alerts.map((a) => a.alertname)) {
        if (!ALERT_NAMES.includes(alertname)) continue;
        expect(
          matchFault(catalog, { alertname, labels: {} }).debounceMs,
          alertname,
        ).toBeGreaterThanOrEqual(MIN);
      }
    }
  });

  it.each(KUBE_PROMETHEUS_STACK)(
    'maps kube-prometheus-stack %s to %s, acting at least 60s after it fired',
    (alertname, fault, forMs, debounceMs) => {
      const matched = matchFault(shipped(), { alertname, labels: { node: 'worker-1' } });
      expect(matched.name).toBe(fault);
      expect(matched.debounceMs).toBe(debounceMs);
      // The rule's `for` and nodeheal's debounce add up: never less than a minute in all.
      expect(forMs + debounceMs).toBeGreaterThanOrEqual(MIN);
    },
  );

  it.each(KUBE_NODE_PRESSURE)(
    'maps KubeNodePressure{condition=%s} to %s at once (for: 10m)',
    (condition, fault) => {
      const matched = matchFault(shipped(), {
        alertname: 'KubeNodePressure',
        labels: { node: 'worker-1', condition, status: 'true' },
      });
      expect(matched).toMatchObject({ name: fault, debounceMs: 0 });
    },
  );

  it.each([
    'KubeletDown',
    'NodeSystemdServiceFailed',
    'KubeletTooManyPods',
    'NodeCPUHighUsage',
    ...LEFT_ALONE_ALERT_NAMES,
  ])('leaves %s alone, saying why, instead of the generic ladder', (alertname) => {
    const alone = leftAlone(shipped(), { alertname, labels: {} });
    expect(alone?.reason.length).toBeGreaterThan(10);
  });

  it('leaves nothing alone that a fault claims', () => {
    const catalog = shipped();
    for (const entry of catalog.leaveAlone) {
      expect(matchFault(catalog, { alertname: entry.alertname, labels: {} }).name).toBe('unknown');
    }
  });

  it('gives pressure conditions time to clear after the kubelet transition period (5m)', () => {
    const catalog = shipped();
    for (const name of ['memory-pressure', 'pid-pressure', 'disk-almost-full']) {
      const fault = catalog.faults.find((candidate) => candidate.name === name);
      expect(fault, name).toBeDefined();
      expect(fault?.ladder[0]?.timeoutMs, name).toBeGreaterThan(5 * MIN);
    }
  });

  it('uses the shared flap policy', () => {
    expect(shipped().defaults.flap).toEqual({
      maxTransitions: 4,
      windowMs: 30 * MIN,
      holdForMs: 10 * MIN,
    });
  });
});

describe('alert-rules/prometheus/node-health.yaml', () => {
  type Rule = {
    alert?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  const rules = (
    parse(readFileSync(PROMETHEUS_RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }
  ).groups.flatMap((group) => group.rules.filter((rule) => rule.alert !== undefined));

  it.each(rules.map((rule) => [rule.alert!, rule] as const))(
    '%s has a severity, a summary, a description and its runbook in docs/runbooks/',
    (alertname, rule) => {
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length).toBeGreaterThan(20);
      expect(rule.annotations?.runbook_url).toBe(
        `https://github.com/nodeheal/nodeheal/blob/main/docs/runbooks/${alertname}.md`,
      );
      const runbook = readFileSync(
        new URL(`../../../docs/runbooks/${alertname}.md`, import.meta.url),
        'utf8',
      );
      expect(runbook).toMatch(new RegExp(`^# ${alertname}\\n`));
    },
  );

  it.each(rules.map((rule) => [rule.alert!, rule] as const))(
    '%s is routed to nodeheal (nodeheal="true") exactly when the catalog heals it',
    (alertname, rule) => {
      const catalog = shipped();
      const healed = matchFault(catalog, { alertname, labels: {} }).name !== 'unknown';
      expect(rule.labels?.nodeheal === 'true', alertname).toBe(healed);
      if (!healed) expect(leftAlone(catalog, { alertname, labels: {} })).toBeDefined();
    },
  );
});
