// bench:drain's scenario (a node carrying 110 ReplicaSet pods, with and without PDBs, drained by
// nodeheal's KubeDrainer with its defaults) for `npm run bench:scale`: run once in the small
// cluster before it grows, as the baseline, and again inside the large cluster, in the same run.
import { DEFAULT_DRAIN_OPTIONS, KubeDrainer } from '../../src/actions/drain.ts';
import { KubeNodeOps } from '../../src/actions/kube-node-ops.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { podsOnNode } from '../stack/helpers/workloads.ts';
import { watchDisruption, type DisruptionReport } from './disruption.ts';
import { drainScenarios, prepareNode } from './drain-scenario.ts';

export interface DrainRun {
  scenario: string;
  seconds: number;
  disruption: DisruptionReport;
}

/** Drains a fresh node of `podCount` pods per scenario; `others` are every other node. */
export async function drainRuns(
  kube: KubeClients,
  others: string[],
  label: string,
  podCount: number,
): Promise<DrainRun[]> {
  const ops = new KubeNodeOps(kube.kc);
  const runs: DrainRun[] = [];
  for (const [s, scenario] of drainScenarios(podCount).entries()) {
    const id = `dr-${label}-s${s}`;
    const { node, namespace } = await prepareNode(kube, others, id, scenario, podCount);
    const monitor = await watchDisruption(kube, namespace, node);
    const started = performance.now();
    await ops.cordon(node);
    const result = await new KubeDrainer(kube.kc).drain(node, { ...DEFAULT_DRAIN_OPTIONS });
    if (result.outcome !== 'drained') throw new Error(`drain: ${JSON.stringify(result)}`);
    const seconds = (performance.now() - started) / 1000;
    const left = (await podsOnNode(kube, node)).filter(
      (p) => p.metadata?.namespace === namespace,
    ).length;
    if (left !== 0) throw new Error(`the drain left ${left} pods on ${node}`);
    runs.push({ scenario: scenario.name, seconds, disruption: await monitor.finish() });
  }
  return runs;
}
