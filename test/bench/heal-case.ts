// One measured heal of `npm run bench:heal`: a fresh node carrying the scenario's pods (bench:drain's
// drain-scenario.ts), healed through nodeheal's own serve and worker (heal-run.ts), watched for
// what the workloads went through (disruption.ts) and for its replacement node turning Ready.
// Capacity is back when both hold: a replacement is Ready for pods and every evicted pod runs
// elsewhere; the time counts from the heal becoming due (the record's `origin.dueAt`), so the
// alert's debounce is not nodeheal's share.
import { Watch, type V1Node } from '@kubernetes/client-node';
import { healPhases, type HealPhases } from '../../src/heal/index.ts';
import { readyForPods } from '../../src/providers/kwok.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { deleteNodePool, poolLabel } from '../stack/helpers/pool.ts';
import { watchDisruption, type DisruptionReport } from './disruption.ts';
import { prepareNode, type Scenario } from './drain-scenario.ts';
import type { HealRunner } from './heal-run.ts';

export interface HealCase {
  /** Due → capacity back (replacement Ready and every evicted pod Running elsewhere), seconds. */
  capacitySeconds: number;
  /** Due → the replacement first Ready for pods (a node watch), seconds. */
  replacementSeconds: number;
  /** Due → every evicted pod Running and Ready elsewhere, seconds. */
  podsSeconds: number;
  /** Due → the heal record's end (nodeheal's own verdict), seconds. */
  recordSeconds: number;
  phases: HealPhases;
  disruption: DisruptionReport;
}

interface ReadyWatch {
  /** Epoch ms when a node of the pool other than `node` was first Ready for pods. */
  readyAt: () => number | undefined;
  stop: () => void;
}

/** Watches the pool's nodes (the replacement carries the pool label) for a new node Ready. */
async function watchReplacement(
  kube: KubeClients,
  pool: string,
  node: string,
): Promise<ReadyWatch> {
  let readyAt: number | undefined;
  const request = await new Watch(kube.kc).watch(
    '/api/v1/nodes',
    { labelSelector: `${poolLabel}=${pool}` },
    (_type: string, n: V1Node) => {
      if (n.metadata?.name !== node && readyForPods(n)) readyAt ??= Date.now();
    },
    () => undefined,
  );
  return { readyAt: () => readyAt, stop: () => request.abort() };
}

async function deleteNamespace(kube: KubeClients, namespace: string): Promise<void> {
  await kube.core.deleteNamespace({ name: namespace });
  await eventually(
    `namespace ${namespace} gone`,
    async () => {
      try {
        await kube.core.readNamespace({ name: namespace });
        return false;
      } catch {
        return true;
      }
    },
    180_000,
    500,
  );
}

/** Prepares a node with `podCount` pods in pool `id`, heals it, measures, and cleans up. */
export async function measureHeal(
  kube: KubeClients,
  healer: HealRunner,
  receivers: string[],
  id: string,
  scenario: Scenario,
  podCount: number,
): Promise<HealCase> {
  const { node, namespace } = await prepareNode(kube, receivers, id, scenario, podCount);
  const replacement = await watchReplacement(kube, id, node);
  try {
    const monitor = await watchDisruption(kube, namespace, node);
    const heal = await healer.heal(node, id, { keepPool: true });
    const disruption = await monitor.finish();
    if (heal.status !== 'healed') throw new Error(`heal ${heal.status}: ${heal.reason}`);
    const dueAt = heal.record.origin?.dueAt;
    if (dueAt === undefined) throw new Error(`heal ${heal.record.id} has no origin`);
    const readyAt = replacement.readyAt();
    if (readyAt === undefined) throw new Error(`no replacement of ${node} seen Ready`);
    if (disruption.recoveredAtMs === undefined) {
      throw new Error(`the pods evicted from ${node} did not all run elsewhere within 120 s`);
    }
    const seconds = (at: number) => (at - dueAt) / 1000;
    return {
      capacitySeconds: seconds(Math.max(readyAt, disruption.recoveredAtMs)),
      replacementSeconds: seconds(readyAt),
      podsSeconds: seconds(disruption.recoveredAtMs),
      recordSeconds: seconds(heal.record.endedAt ?? heal.record.updatedAt),
      phases: healPhases(heal.record, Date.now()),
      disruption,
    };
  } finally {
    replacement.stop();
    await deleteNodePool(kube, id);
    await deleteNamespace(kube, namespace);
  }
}
