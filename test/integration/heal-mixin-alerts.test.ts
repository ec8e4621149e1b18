// kube-prometheus-stack's node alerts, as a user already has them, through a real Prometheus and
// Alertmanager (issue 12). The rules below are written for this test to behave as the mixin's
// do: its alert names and labels, and the `and on (node) kube_node_spec_unschedulable == 0`
// that makes KubeNodeNotReady and KubeNodePressure stop firing once a node is cordoned (their
// `for` is shortened to seconds here). The ladders cordon before a remedy, so that the remedy is
// verified while nodeheal's own cordon has silenced the alert: the heal must not take that for
// a cure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition, stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool, deleteNodePool, poolLabel, readyStatus } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { commandsRun, startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { HARNESS_WEBHOOK_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import {
  nodehealReceiverConfig,
  startPrivateMonitoring,
  type PrivateMonitoring,
} from './support/private-monitoring.ts';

const stack = inject('stack');
const kubeletPool = uniqueName('mixk');
const diskPool = uniqueName('mixd');
let kube: KubeClients;
let harness: Harness | undefined;
let monitoring: PrivateMonitoring | undefined;
const agents: AgentProcess[] = [];
let secretDir = '';
let kubeletVictim = '';
let diskVictim = '';

/** Rules that behave as kube-prometheus-stack's node alerts do (written for this test). */
const MIXIN_LIKE_RULES = [
  {
    name: 'mixin-like.kubelet',
    rules: [
      {
        alert: 'KubeNodeNotReady',
        expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0 and on (node) kube_node_spec_unschedulable == 0',
        for: '10s',
        labels: { severity: 'warning' },
      },
      {
        alert: 'KubeNodeUnreachable',
        expr: 'kube_node_spec_taint{key="node.kubernetes.io/unreachable",effect="NoSchedule"} == 1',
        for: '10s',
        labels: { severity: 'warning' },
      },
      {
        // As node-exporter's filesystem alert: about a host, by `instance` (<ip>:9100) only, no
        // `node` label. Emulated from the node's DiskPressure and its InternalIP (no
        // node-exporter runs on simulated nodes).
        alert: 'NodeFilesystemAlmostOutOfSpace',
        expr: 'label_replace(sum by (internal_ip) ((kube_node_status_condition{condition="DiskPressure",status="true"} == 1) * on (node) group_left (internal_ip) kube_node_info), "instance", "$1:9100", "internal_ip", "(.+)")',
        for: '10s',
        labels: { severity: 'warning', mountpoint: '/' },
      },
      {
        alert: 'KubeNodePressure',
        expr: 'kube_node_status_condition{condition=~"(MemoryPressure|DiskPressure|PIDPressure)",status="true"} == 1 and on (node) kube_node_spec_unschedulable == 0',
        for: '10s',
        labels: { severity: 'info' },
      },
    ],
  },
];

beforeAll(async () => {
  kube = adminClients(stack);
  kubeletVictim = (await createNodePool(kube, { name: kubeletPool, size: 3 }))[1]!;
  diskVictim = (await createNodePool(kube, { name: diskPool, size: 3 }))[1]!;
  secretDir = mkdtempSync(join(tmpdir(), 'nodeheal-mixin-'));
  const secretFile = join(secretDir, 'secret');
  writeFileSync(secretFile, 'agent-shared-secret-for-nodeheal-tests-0123456789\n');
  // Remedies that run (and are recorded) but fix nothing: the kubelet stays dead, the disk full.
  const noop = (name: string) => ({
    argv: ['/bin/sh', join(repoRoot, 'test', 'agent-fixtures', 'record-run.sh'), '@STATE@', name],
    timeout: '10s',
  });
  agents.push(await startAgentProcess(kubeletVictim, secretFile, { reboot: noop('reboot') }));
  agents.push(
    await startAgentProcess(diskVictim, secretFile, {
      'clean-images': noop('clean-images'),
      'rotate-logs': noop('rotate-logs'),
    }),
  );
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'node-not-ready': [
        { action: 'cordon', timeout: '30s' },
        { action: 'reboot', timeout: '20s' },
        { action: 'replace', timeout: '120s' },
      ],
      'disk-almost-full': [
        { action: 'cordon', timeout: '30s' },
        { action: 'clean-disk', timeout: '20s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_ENDPOINTS: JSON.stringify({
        [kubeletVictim]: agents[0]!.url,
        [diskVictim]: agents[1]!.url,
      }),
      NODEHEAL_SAFETY: JSON.stringify({ nodeCooldownMs: 0, stormCooldownMs: 3000 }),
    },
  });
  monitoring = await startPrivateMonitoring({
    ksmUrl: stack.ksmUrl!,
    ruleGroups: MIXIN_LIKE_RULES,
    onlyNodes: `(${kubeletPool}|${diskPool})-[0-9]+`,
    alertmanagerConfig: nodehealReceiverConfig(
      `${harness.serveUrl}/webhook/alertmanager`,
      HARNESS_WEBHOOK_TOKEN,
    ),
  });
});

afterAll(async () => {
  await monitoring?.stop();
  await harness?.stop();
  for (const a of agents) await a.stop();
  if (kube) {
    await deleteNodePool(kube, kubeletPool);
    await deleteNodePool(kube, diskPool);
  }
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

async function poolNodes(pool: string) {
  return (await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` })).items;
}

/** The heal of `node` once it has ended, and every heal the node had. */
async function endedHeal(node: string): Promise<{ heal: HealRecord; all: HealRecord[] }> {
  const heal = await harness!.finishedHeal(node, 240_000);
  return { heal, all: await harness!.healsFor(node) };
}

describe("kube-prometheus-stack's node alerts", () => {
  it('a stopped kubelet (KubeNodeNotReady, KubeNodeUnreachable) is replaced exactly once; a full disk (KubeNodePressure) gets the disk remedy; neither heal is ended by the resolution its own cordon caused', async () => {
    await stopHeartbeat(kube, kubeletVictim);
    await setNodeCondition(kube, diskVictim, 'DiskPressure', 'True', 'KubeletHasDiskPressure');
    const [kubelet, disk] = await Promise.all([endedHeal(kubeletVictim), endedHeal(diskVictim)]);

    for (const [{ heal, all }, victim, pool, remedy, agent] of [
      [kubelet, kubeletVictim, kubeletPool, ['reboot'], agents[0]!],
      [disk, diskVictim, diskPool, ['clean-images', 'rotate-logs'], agents[1]!],
    ] as const) {
      const story = JSON.stringify(heal.transitions.map((t) => `${t.kind}: ${t.detail}`));
      // One heal of the node (the other alert of a stopped kubelet joined it).
      expect(
        all.map((h) => h.id),
        story,
      ).toEqual([heal.id]);
      expect(heal.status, story).toBe('healed');
      // The remedy ran once, was not taken as a cure while the cordon silenced the alert, and
      // the heal went on to replace the node.
      expect(commandsRun(agent)).toEqual(remedy);
      const kinds = heal.transitions.map((t) => t.kind);
      expect(kinds, story).toContain('escalated');
      expect(heal.ladder[heal.stepIndex]!.action, story).toBe('replace');
      expect(heal.outcomeReason, story).toMatch(/replaced, capacity back/);
      // Healed only with a Ready replacement: the pool is back at three Ready nodes, the victim
      // gone, and exactly one node was added.
      const nodes = await poolNodes(pool);
      const names = nodes.map((n) => n.metadata!.name!);
      expect(names).not.toContain(victim);
      expect(nodes).toHaveLength(3);
      expect(nodes.filter((n) => readyStatus(n) === 'True')).toHaveLength(3);
      const started = (await nodehealEvents(kube, victim)).filter(
        (e) => e.reason === 'HealStarted',
      );
      expect(started).toHaveLength(1);
    }
    expect(kubelet.heal.fault).toBe('node-not-ready');
    expect(disk.heal.fault).toBe('disk-almost-full');
    // The instance-only filesystem alert was tied to the disk node through its InternalIP, and
    // was the same fault of the same node: part of the one heal, not a second.
    const log = await harness!.redis.xrange('nodeheal:alerts', '-', '+');
    const filesystem = log
      .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as Record<string, string>)
      // Firing ones: its resolution comes once the node is gone, and an address no Node has any
      // more resolves to nothing (answered as ignored, no_node), as it should.
      .filter((r) => r.alertname === 'NodeFilesystemAlmostOutOfSpace' && r.status === 'firing');
    expect(filesystem.length).toBeGreaterThan(0);
    expect(new Set(filesystem.map((r) => r.node))).toEqual(new Set([diskVictim]));
    expect(new Set(filesystem.map((r) => r.key))).toEqual(
      new Set([`heal:${diskVictim}:disk-almost-full`]),
    );
    // The kubelet's heal verified by the API, not by its silenced alert: still NotReady.
    const rebootDone = kubelet.heal.transitions.find((t) => t.kind === 'escalated');
    expect(rebootDone?.detail).toMatch(/reboot did not clear node-not-ready/);
  }, 300_000);
});
