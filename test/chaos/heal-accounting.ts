// One heal under chaos, from the outside: a node of a fresh pool of 3 carrying part of a
// ReplicaSet behind a PDB that lets one pod go at a time (so a drain lasts a while), broken with
// KernelDeadlock=True and its alert, healed by the ladder `replace` (cordon, drain through the
// Eviction API, KWOK replacement). Its count against the heal record: one heal, healed, started
// once; one HealStarted, NodeDrained, NodeReplaced and HealSucceeded Event on the Node; every pod
// that was on the node evicted, none twice, no other; one replacement Node created and the old
// one deleted once (the apiserver's audit log).
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HealRecord } from '../../src/heal/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { deleteNodePool } from '../stack/helpers/pool.ts';
import { podsOnNode, poolWithWorkload } from '../stack/helpers/workloads.ts';
import type { StackInfo } from '../stack/stack.ts';
import { startHarness, type Harness } from '../integration/support/heal-harness.ts';
import { nodehealKubeconfig } from '../integration/support/nodeheal-identity.ts';
import { readAuditLog } from '../stack/audit.ts';
import { sideEffects } from './audit-count.ts';
import type { Rng } from './rng.ts';
import { countEvents, type Tally } from './tally.ts';

export interface ChaosCluster {
  kube: KubeClients;
  stack: StackInfo;
  rng: Rng;
  log: (line: string) => void;
}

export interface Victim {
  pool: string;
  namespace: string;
  node: string;
  /** The pods on the node before the heal: what its drain must evict, each once. */
  onNode: Set<string>;
}

const HEAL_EVENTS = ['HealStarted', 'NodeDrained', 'NodeReplaced', 'HealSucceeded'];

/** serve and `workers` workers as nodeheal's chart ServiceAccount, on a private Redis. */
export async function startChaosHarness(c: ChaosCluster, workers: number): Promise<Harness> {
  return await startChaosHarnessWith(c, workers, {});
}

/** The same, with extra environment for the workers (read each time one starts). */
export async function startChaosHarnessWith(
  c: ChaosCluster,
  workers: number,
  workerEnv: Record<string, string>,
): Promise<Harness> {
  return await startHarness({
    kubeconfig: (await nodehealKubeconfig(c.kube, c.stack)).path,
    // More than the 2 minutes a PodDisruptionBudget keeps counting a pod whose eviction was cut off
    // by a killed worker (see docs/reliability.md, Chaos): such a round heals late, not never.
    ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '300s' }] },
    workers,
    workerEnv,
  });
}

/** A pool of 3 with 6 pods behind a PDB of 5; the victim is the node with the most pods. */
export async function newVictim(kube: KubeClients): Promise<Victim> {
  const { pool, nodes, namespace } = await poolWithWorkload(kube, 'chaos', {
    size: 3,
    replicas: 6,
    minAvailable: 5,
  });
  const pods = await Promise.all(nodes.map(async (n) => await podsOnNode(kube, n)));
  const most = pods.reduce((best, p, i) => (p.length > pods[best]!.length ? i : best), 0);
  const onNode = new Set(pods[most]!.map((p) => p.metadata!.name!));
  return { pool, namespace, node: nodes[most]!, onNode };
}

/**
 * The node's kernel deadlocks (node-problem-detector's condition) and its alert is posted;
 * `startsAt` defaults to 5 s ago (due at once past the harness's 1 s debounce).
 */
export async function breakNode(
  kube: KubeClients,
  harness: Harness,
  v: Victim,
  startsAt?: Date,
): Promise<void> {
  await setNodeCondition(kube, v.node, 'KernelDeadlock', 'True');
  const labels = { condition: 'KernelDeadlock', status: 'true' };
  await harness.fire(v.node, 'NodeKernelDeadlock', labels, startsAt);
}

export async function removeVictim(kube: KubeClients, v: Victim): Promise<void> {
  await deleteNodePool(kube, v.pool);
  await kube.core.deleteNamespace({ name: v.namespace });
}

function countRecords(tally: Tally, round: number, done: HealRecord, heals: HealRecord[]) {
  // A doubled heal would be a second record (or a second start) of the same fault.
  const starts = heals.flatMap((h) => h.transitions.filter((t) => t.kind === 'started'));
  tally.expected += 1;
  tally.recorded += heals.length;
  if (done.status !== 'healed') {
    tally.lost += 1;
    tally.problems.push(
      `round ${round}: heal ${done.id} ended ${done.status}: ${done.outcomeReason}`,
    );
  }
  if (heals.length > 1 || starts.length > 1) {
    tally.doubled += 1;
    tally.problems.push(`round ${round}: ${heals.length} heals, ${starts.length} starts`);
  }
}

/** Waits for the victim's heal to end and adds its count to `tally`; returns a summary. */
export async function countHeal(
  c: ChaosCluster,
  harness: Harness,
  tally: Tally,
  round: number,
  v: Victim,
): Promise<string> {
  const done = await harness.finishedHeal(v.node, 360_000);
  const heals = await harness.healsFor(v.node);
  const problemsBefore = tally.problems.length;
  countRecords(tally, round, done, heals);

  const events = await nodehealEvents(c.kube, v.node);
  for (const reason of HEAL_EVENTS) {
    const seen = events.filter((e) => e.reason === reason).reduce((n, e) => n + (e.count ?? 1), 0);
    countEvents(tally, round, reason, seen, 1);
  }

  const effects = sideEffects(c.stack.auditLog!, v.namespace, v.pool, v.node);
  const evictions = (tally.evictions ??= { seen: 0, expected: 0, repeated: 0 });
  evictions.expected += v.onNode.size;
  for (const [pod, times] of effects.evictedPods) {
    if (!v.onNode.has(pod)) tally.problems.push(`round ${round}: ${pod} evicted, not on ${v.node}`);
    evictions.seen += 1;
    evictions.repeated += times - 1;
    if (times > 1) tally.problems.push(`round ${round}: pod ${pod} evicted ${times} times`);
  }
  const missing = [...v.onNode].filter((p) => !effects.evictedPods.has(p));
  if (missing.length > 0)
    tally.problems.push(`round ${round}: never evicted: ${missing.join(', ')}`);

  const provider = (tally.provider ??= { creates: 0, deletes: 0, expected: 0, attempts: 0 });
  provider.expected += 1;
  provider.creates += effects.creates;
  provider.deletes += effects.deletes;
  provider.attempts += effects.attempts;
  if (effects.creates !== 1 || effects.deletes !== 1) {
    tally.problems.push(
      `round ${round}: ${effects.creates} replacements created, ${v.node} deleted ${effects.deletes} times`,
    );
  }
  if (tally.problems.length > problemsBefore) {
    tally.problems.push(
      `round ${round}: records, worker logs and audit entries in ${keepEvidence(c, harness, heals, round, v, await workloadNow(c.kube, v))}`,
    );
  }
  const seconds = ((done.endedAt ?? Date.now()) - done.createdAt) / 1000;
  return (
    `heal ${done.status} in ${seconds.toFixed(1)} s, ` +
    `${effects.evictedPods.size}/${v.onNode.size} pods evicted, ${effects.attempts} provider calls`
  );
}

/**
 * Writes a round's heal records, every worker's output (killed ones too) and every audited
 * request about the round's pods and nodes, whatever its answer, for a post-mortem.
 */
function keepEvidence(
  c: ChaosCluster,
  harness: Harness,
  heals: HealRecord[],
  round: number,
  v: Victim,
  workload: string,
): string {
  const path = join(tmpdir(), `nodeheal-chaos-${process.pid}-${Date.now()}-round${round}.log`);
  const audit = readAuditLog(c.stack.auditLog!).filter(
    (r) => r.namespace === v.namespace || r.name.startsWith(v.pool),
  );
  const logs = harness.workers.map((w, i) => `=== worker ${i} (${w.url})\n${w.output()}`);
  const parts = [JSON.stringify(heals, null, 2), JSON.stringify(audit, null, 1), workload, ...logs];
  writeFileSync(path, parts.join('\n'));
  return path;
}

/** The round's PDBs and pods as they stand (what held a drain back), for the evidence file. */
async function workloadNow(kube: KubeClients, v: Victim): Promise<string> {
  try {
    const pdbs = await kube.policy.listNamespacedPodDisruptionBudget({ namespace: v.namespace });
    const pods = await kube.core.listNamespacedPod({ namespace: v.namespace });
    const pdbLines = pdbs.items.map(
      (p) => `pdb ${p.metadata?.name}: ${JSON.stringify({ ...p.status, conditions: undefined })}`,
    );
    const podLines = pods.items.map(
      (p) =>
        `pod ${p.metadata?.name} on ${p.spec?.nodeName} ${p.status?.phase} ready=${p.status?.conditions?.find((x) => x.type === 'Ready')?.status} deleting=${p.metadata?.deletionTimestamp !== undefined}`,
    );
    return ['=== workload now', ...pdbLines, ...podLines].join('\n');
  } catch (error) {
    return `=== workload now: could not read it: ${String(error)}`;
  }
}
