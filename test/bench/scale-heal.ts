// Heals and process memory inside the large cluster of `npm run bench:scale`, through nodeheal's
// own processes (the heal tests' harness: private Redis, nodeheal's chart RBAC, the KWOK
// provider; ladder one `replace` step as in bench:drain's full heal): a heal target is a node
// alone in its pool carrying `pods` pods of one ReplicaSet pinned to it; its fault is
// KernelDeadlock=True and its alert is posted to the webhook.
import { readFileSync } from 'node:fs';
import type { HealRecord } from '../../src/heal/index.ts';
import { startHarness, type Harness } from '../integration/support/heal-harness.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool, deleteNodePool } from '../stack/helpers/pool.ts';
import {
  createNamespace,
  createReplicaSetWithPdb,
  waitPodsRunning,
} from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { requestsBetween, type HealRequests } from './scale-audit.ts';

export interface HealTarget {
  node: string;
  pool: string;
  pods: number;
}

export interface MeasuredHeal {
  record: HealRecord;
  /** Alert delivered → heal record ended. */
  seconds: number;
  requests: HealRequests;
}

/** Resident memory of a process in MiB (VmRSS from /proc), 0 once it is gone. */
export function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The highest of a few samples over 2 s: resident memory of an idle process after its last event. */
export async function idleRssMiB(pid: number | undefined): Promise<number> {
  let peak = 0;
  for (let i = 0; i < 5; i++) {
    peak = Math.max(peak, rssMiB(pid));
    await sleep(500);
  }
  return peak;
}

function cpuTicks(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU an idle process takes (its node watch, timers), in % of one core over `ms`. */
export async function idleCpuPercent(pid: number | undefined, ms = 10_000): Promise<number> {
  const before = cpuTicks(pid);
  await sleep(ms);
  // Linux counts CPU time in ticks of 1/100 s.
  return ((cpuTicks(pid) - before) / 100 / (ms / 1000)) * 100;
}

/**
 * What nodeheal runs as in the benchmark: the compiled JavaScript the image runs (default), or
 * its TypeScript sources stripped by Node (SCALE_ENTRY=ts, about 30 MiB more per process).
 */
export const SCALE_ENTRY: 'dist/main.js' | 'src/main.ts' =
  process.env.SCALE_ENTRY === 'ts' ? 'src/main.ts' : 'dist/main.js';

export async function startScaleHarness(
  kubeconfig: string,
  options: { allInOne?: boolean; workers?: number } = {},
): Promise<Harness> {
  return await startHarness({
    kubeconfig,
    entry: SCALE_ENTRY,
    ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '300s' }] },
    workerEnv: {
      // One node per pool: a replace takes the pool's only node out for a moment.
      NODEHEAL_SAFETY: JSON.stringify({
        nodeCooldownMs: 0,
        stormCooldownMs: 0,
        poolBudget: 1000,
        clusterBudget: 1000,
      }),
      NODEHEAL_LOG_LEVEL: 'warn',
    },
    ...options,
  });
}

export async function createHealTarget(
  kube: KubeClients,
  id: string,
  pods: number,
): Promise<HealTarget> {
  const [node] = await createNodePool(kube, { name: id, size: 1 });
  const namespace = `${id}-ns`;
  await createNamespace(kube, namespace);
  await createReplicaSetWithPdb(kube, {
    namespace,
    name: 'app',
    replicas: pods,
    nodeSelector: { 'kubernetes.io/hostname': node! },
  });
  await waitPodsRunning(kube, namespace, 'app=app', pods, 180_000);
  return { node: node!, pool: id, pods };
}

/** Injects the fault; the alert is posted by `heal` (or by the caller, to time a worker's start). */
export async function injectFault(kube: KubeClients, harness: Harness, target: HealTarget) {
  await setNodeCondition(kube, target.node, 'KernelDeadlock', 'True');
  await harness.fire(target.node, 'NodeKernelDeadlock', {
    condition: 'KernelDeadlock',
    status: 'true',
  });
}

/** Waits for the target's heal to end healed; counts nodeheal's requests from `from` to its end. */
export async function awaitHeal(
  kube: KubeClients,
  harness: Harness,
  auditLog: string,
  target: HealTarget,
  from: number,
): Promise<MeasuredHeal> {
  const record = await harness.finishedHeal(target.node, 300_000);
  const seconds = (Date.now() - from) / 1000;
  if (record.status !== 'healed') {
    throw new Error(`heal of ${target.node} ${record.status}: ${record.outcomeReason ?? ''}`);
  }
  // The audit log is written as requests complete (blocking mode): the heal's are all there.
  const requests = requestsBetween(auditLog, from, (record.endedAt ?? Date.now()) + 500);
  await deleteNodePool(kube, target.pool);
  return { record, seconds, requests };
}

export async function heal(
  kube: KubeClients,
  harness: Harness,
  auditLog: string,
  target: HealTarget,
): Promise<MeasuredHeal> {
  const from = Date.now();
  await injectFault(kube, harness, target);
  return await awaitHeal(kube, harness, auditLog, target, from);
}
