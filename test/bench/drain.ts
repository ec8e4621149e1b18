// `npm run bench:drain`: nodeheal's Drainer against `kubectl drain`, in the same run, on the same
// local cluster (real kube-apiserver, controllers and scheduler; KWOK kubelets).
//
// Starts a stack with Kubernetes only, creates a receiving pool of 4 nodes and a DaemonSet on
// every node, then for each scenario and each tool: a fresh KWOK node with 110 pods from 11
// ReplicaSets of 10 (3 of them with an emptyDir volume) plus the DaemonSet's pod, all placed
// there while the receiving pool is cordoned; the pool is then opened and the node drained:
//   - nodeheal: NodeOps.cordon + KubeDrainer.drain with DEFAULT_DRAIN_OPTIONS;
//   - kubectl:  kubectl drain --ignore-daemonsets --delete-emptydir-data --force (same v1.36.3
//               binary as the cluster), which cordons too.
// Both wait until every evicted pod is gone from the node. Scenarios: no PDB, and a PDB of
// minAvailable replicas-1 per ReplicaSet (evictions refused with 429 until replacements are
// Ready). Prints both durations side by side and the target (nodeheal ≤ kubectl). During every
// drain, watches on the namespace's pods and ReplicaSets (test/bench/disruption.ts) record each
// workload's lowest Ready count against what its PDB allows (flagged when below), and the time
// from the first eviction to every evicted pod's replacement Running and Ready on another node;
// printed per drain and as a table (test/bench/disruption-table.ts). A benchmark, not a test:
// exits 0 unless the setup fails.
//
// Environment: BENCH_ROUNDS (default 1; the order of the tools alternates between rounds),
// BENCH_PODS (default 110), BENCH_BACKOFF_MAX_MS and BENCH_POLL_MS (KubeDrainer tuning; unset =
// nodeheal's defaults).
import { spawn } from 'node:child_process';
import { DEFAULT_DRAIN_OPTIONS, KubeDrainer, type DrainProgress } from '../../src/actions/drain.ts';
import { KubeNodeOps } from '../../src/actions/kube-node-ops.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { createDaemonSet, createNamespace, podsOnNode } from '../stack/helpers/workloads.ts';
import { startStack } from '../stack/stack.ts';
import { watchDisruption, type DisruptionReport } from './disruption.ts';
import { disruptionLine, printDisruptionTable } from './disruption-table.ts';
import { drainScenarios, prepareNode } from './drain-scenario.ts';
import { measureDueToFirstAction } from './due-to-action.ts';
import { startHealRunner, type HealRunner } from './heal-run.ts';

type Tool = 'nodeheal' | 'kubectl' | 'heal';

const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const podCount = Number(process.env.BENCH_PODS ?? 110);
// Tuning knobs of KubeDrainer, to explore; unset means nodeheal's defaults.
const drainerTuning = {
  ...(process.env.BENCH_BACKOFF_MAX_MS
    ? { backoffMaxMs: Number(process.env.BENCH_BACKOFF_MAX_MS) }
    : {}),
  ...(process.env.BENCH_POLL_MS ? { pollIntervalMs: Number(process.env.BENCH_POLL_MS) } : {}),
};
const scenarios = drainScenarios(podCount);

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} exited ${code}:\n${output.slice(-2000)}`)),
    );
  });
}

async function remainingEvictable(kube: KubeClients, node: string, namespace: string) {
  return (await podsOnNode(kube, node)).filter((p) => p.metadata?.namespace === namespace).length;
}

const stack = await startStack({ mode: 'attached', parts: ['kube'] });
let healer: HealRunner | undefined;
try {
  const kube = adminClients(stack.info);
  const kubectl = stack.info.kubectl!;
  const kubeconfig = stack.info.kubeconfig!;
  const version = (await run(kubectl, ['version', '--client'], process.env)).split('\n')[0];
  const receivers = await createNodePool(kube, { name: 'recv', size: 4 });
  await createNamespace(kube, 'bench-system');
  await createDaemonSet(kube, 'bench-system', 'node-agent');
  const ops = new KubeNodeOps(kube.kc);
  if (process.env.BENCH_HEAL !== '0') healer = await startHealRunner(stack, kube);

  const results: Record<string, Record<Tool, number[]>> = {};
  const refusals: Record<string, number[]> = {};
  const disruption: Record<string, Record<Tool, DisruptionReport[]>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [s, scenario] of scenarios.entries()) {
      const drains: Tool[] = round % 2 === 0 ? ['nodeheal', 'kubectl'] : ['kubectl', 'nodeheal'];
      const tools: Tool[] = healer ? [...drains, 'heal'] : drains;
      for (const tool of tools) {
        const id = `${{ nodeheal: 'nh', kubectl: 'kc', heal: 'hl' }[tool]}-s${s}-r${round}`;
        const { node, namespace } = await prepareNode(kube, receivers, id, scenario, podCount);
        const monitor = await watchDisruption(kube, namespace, node);
        const events: (DrainProgress & { at: number })[] = [];
        const started = performance.now();
        if (tool === 'nodeheal') {
          await ops.cordon(node);
          const drainer = new KubeDrainer(kube.kc, {
            ...drainerTuning,
            onProgress: (e) => events.push({ ...e, at: (performance.now() - started) / 1000 }),
          });
          const result = await drainer.drain(node, { ...DEFAULT_DRAIN_OPTIONS });
          if (result.outcome !== 'drained') throw new Error(`nodeheal: ${JSON.stringify(result)}`);
        } else if (tool === 'heal') {
          const heal = await healer!.heal(node, id);
          if (heal.status !== 'healed') throw new Error(`heal ${heal.status}: ${heal.reason}`);
        } else {
          await run(
            kubectl,
            [
              'drain',
              node,
              '--ignore-daemonsets',
              '--delete-emptydir-data',
              '--force',
              '--timeout=10m',
            ],
            { ...process.env, KUBECONFIG: kubeconfig },
          );
        }
        const seconds = (performance.now() - started) / 1000;
        const left = await remainingEvictable(kube, node, namespace);
        if (left !== 0) throw new Error(`${tool} left ${left} pods on ${node}`);
        const report = await monitor.finish();
        ((disruption[scenario.name] ??= { nodeheal: [], kubectl: [], heal: [] })[tool] ??= []).push(
          report,
        );
        ((results[scenario.name] ??= { nodeheal: [], kubectl: [], heal: [] })[tool] ??= []).push(
          seconds,
        );
        if (tool === 'nodeheal') {
          (refusals[scenario.name] ??= []).push(
            events.filter((e) => e.kind === 'eviction-refused').length,
          );
        }
        const lastEviction = Math.max(
          0,
          ...events.filter((e) => e.kind === 'evicted').map((e) => e.at),
        );
        console.log(
          `  ${scenario.name}, round ${round + 1}, ${tool}: ${seconds.toFixed(2)} s` +
            (tool === 'nodeheal'
              ? ` (last eviction accepted at ${lastEviction.toFixed(2)} s)`
              : ''),
        );
        console.log(disruptionLine(report));
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
    }
  }

  // Not running while the latency below is measured.
  await healer?.stop();
  healer = undefined;

  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
  };
  console.log('');
  console.log(`drain of one node, ${rounds} round(s), median seconds (${version}):`);
  console.log(
    `  ${'scenario'.padEnd(44)} ${'nodeheal'.padStart(9)} ${'kubectl'.padStart(9)}  target`,
  );
  for (const scenario of scenarios) {
    const r = results[scenario.name]!;
    const nh = median(r.nodeheal);
    const kc = median(r.kubectl);
    const verdict = nh <= kc ? 'PASS' : 'MISS';
    console.log(
      `  ${scenario.name.padEnd(44)} ${nh.toFixed(2).padStart(9)} ${kc.toFixed(2).padStart(9)}  ${verdict} (nodeheal ≤ kubectl)`,
    );
  }
  for (const scenario of scenarios) {
    console.log(
      `  nodeheal evictions refused (429) in "${scenario.name}": ${(refusals[scenario.name] ?? []).join(', ')}`,
    );
  }
  console.log(
    `  nodeheal options: parallelism ${DEFAULT_DRAIN_OPTIONS.parallelism}, emptyDir ${DEFAULT_DRAIN_OPTIONS.emptyDir}`,
  );

  for (const scenario of scenarios) {
    const heals = results[scenario.name]?.heal ?? [];
    if (heals.length === 0) continue;
    console.log(
      `  full heal through nodeheal's worker (alert → healed, replace) in "${scenario.name}": median ${median(heals).toFixed(2)} s (${heals.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }

  printDisruptionTable(disruption, rounds);

  const latency = await measureDueToFirstAction(
    stack,
    Number(process.env.BENCH_LATENCY_JOBS ?? 100),
  );
  console.log('');
  console.log(
    `job due → first mutating call on the node (${latency.samples.length} heals, real worker process):`,
  );
  console.log(
    `  p50 ${latency.p50} ms   p99 ${latency.p99} ms   max ${latency.max} ms   target p99 ≤ 200 ms: ${latency.p99 <= 200 ? 'PASS' : 'MISS'}`,
  );
} finally {
  await healer?.stop();
  await stack.stop();
}
