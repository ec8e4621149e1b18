// The shipped catalog: it loads, and every Prometheus alert that feeds nodeheal has an expert fault.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCatalog, matchFault, type Catalog } from '../../../src/rules/index.ts';

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
  'NodeClockNotSynchronising',
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

const MIN = 60_000;

describe('alert-rules/remedies.yaml', () => {
  it('loads without errors', () => {
    expect(shipped().faults.length).toBeGreaterThanOrEqual(11);
  });

  it('names exactly the alerts of the Prometheus rules', () => {
    expect(prometheusAlertNames().sort()).toEqual([...ALERT_NAMES].sort());
    const named = new Set(
      shipped().faults.flatMap((fault) => fault.alerts.map((a) => a.alertname)),
    );
    expect([...named].sort()).toEqual([...ALERT_NAMES].sort());
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
      'NodeClockNotSynchronising',
      {},
      'clock-not-synchronised',
      ['sync-clock', 'reboot', 'replace'],
      2 * MIN,
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

  it('ends every ladder with replace and waits at least 60s before acting', () => {
    const catalog = shipped();
    for (const fault of [...catalog.faults, catalog.generic]) {
      expect(fault.ladder.at(-1)?.action, fault.name).toBe('replace');
      expect(fault.debounceMs, fault.name).toBeGreaterThanOrEqual(MIN);
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
