// `npm run bench:scale`: nodeheal in a cluster of 1,000 nodes and 30,000 pods (issue 16).
//
// Holds /tmp/nodeheal-stack.lock for its whole run (the npm script takes it). Starts a stack
// with Kubernetes only (KWOK's node Lease at a kubelet's 40 s, see stack.ts), then:
//   1. baseline: bench:drain's scenario (110 pods, with and without PDBs, nodeheal's drainer) in
//      the small cluster (a receiving pool of 4 nodes);
//   2. grows the cluster to SCALE_SMALL_NODES nodes (and pods in proportion), then to
//      SCALE_NODES nodes and SCALE_PODS pods, timing each step (nodes Ready, pods Running);
//   3. at each size: resident memory of `nodeheal serve` and `worker` (one harness) and of
//      `nodeheal all` (another), idle after start and after a heal, and the apiserver requests
//      of a heal of a node with 10 and with 30 pods, from the audit log (no cluster-wide list);
//   4. at full size: worker start → first heal, the drain scenario again, and bench:intake twice
//      side by side (BENCH_KUBECONFIG unset, then serve watching the cluster's Nodes).
// A benchmark, not a test: prints figures; exits non-zero only if the setup or a heal fails.
//
// Environment: SCALE_NODES (default 1000), SCALE_PODS (default 30000), SCALE_SMALL_NODES
// (default 250; 0 skips the smaller size), SCALE_DRAIN=0 and SCALE_INTAKE=0 skip those parts,
// SCALE_ENTRY=ts runs nodeheal from its TypeScript sources instead of the compiled dist/.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { nodehealKubeconfig } from '../integration/support/nodeheal-identity.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { startStack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import { disruptionLine } from './disruption-table.ts';
import { requestsLine } from './scale-audit.ts';
import { startScaleCluster, type GrowthStep } from './scale-cluster.ts';
import { drainRuns, type DrainRun } from './scale-drain.ts';
import {
  awaitHeal,
  createHealTarget,
  heal,
  idleCpuPercent,
  idleRssMiB,
  injectFault,
  SCALE_ENTRY,
  startScaleHarness,
  type MeasuredHeal,
} from './scale-heal.ts';

const fullNodes = Number(process.env.SCALE_NODES ?? 1000);
const fullPods = Number(process.env.SCALE_PODS ?? 30000);
const smallNodes = Number(process.env.SCALE_SMALL_NODES ?? 250);
const DRAIN_PODS = 110;
/** Settle time after a process answers /healthz: its node watch listed and indexed the cluster. */
const SETTLE_MS = 10_000;

interface Memory {
  serveIdle: number;
  workerIdle: number;
  serveAfterHeal: number;
  workerAfterHeal: number;
  allIdle: number;
  allAfterHeal: number;
}

interface SizeReport {
  step: GrowthStep;
  memory: Memory;
  heals: MeasuredHeal[];
}

const mib = (n: number) => `${n.toFixed(0)} MiB`;

async function measureAtSize(
  kube: KubeClients,
  kubeconfig: string,
  auditLog: string,
  step: GrowthStep,
): Promise<SizeReport> {
  const tag = `n${step.nodes}`;
  const heals: MeasuredHeal[] = [];
  const split = await startScaleHarness(kubeconfig);
  let memory: Memory;
  try {
    await sleep(SETTLE_MS);
    const serveIdle = await idleRssMiB(split.serveProcess.child.pid);
    const workerIdle = await idleRssMiB(split.workers[0]!.child.pid);
    const [serveCpu, workerCpu] = await Promise.all([
      idleCpuPercent(split.serveProcess.child.pid),
      idleCpuPercent(split.workers[0]!.child.pid),
    ]);
    console.log(
      `  ${step.nodes} nodes: idle CPU over 10 s: serve ${serveCpu.toFixed(1)} %, worker ${workerCpu.toFixed(1)} % of a core`,
    );
    for (const pods of [10, 30]) {
      const target = await createHealTarget(kube, `h${pods}-${tag}`, pods);
      heals.push(await heal(kube, split, auditLog, target));
    }
    memory = {
      serveIdle,
      workerIdle,
      serveAfterHeal: await idleRssMiB(split.serveProcess.child.pid),
      workerAfterHeal: await idleRssMiB(split.workers[0]!.child.pid),
      allIdle: 0,
      allAfterHeal: 0,
    };
  } finally {
    await split.stop();
  }
  memory.allIdle = memory.allAfterHeal = NaN;
  await part(`nodeheal all at ${step.nodes} nodes`, async () => {
    const all = await startScaleHarness(kubeconfig, { allInOne: true });
    try {
      await sleep(SETTLE_MS);
      memory.allIdle = await idleRssMiB(all.serveProcess.child.pid);
      const target = await createHealTarget(kube, `ha-${tag}`, 30);
      await heal(kube, all, auditLog, target);
      memory.allAfterHeal = await idleRssMiB(all.serveProcess.child.pid);
    } finally {
      await all.stop();
    }
  });
  console.log(
    `  ${step.nodes} nodes: RSS serve ${mib(memory.serveIdle)} idle, ${mib(memory.serveAfterHeal)} after heals; ` +
      `worker ${mib(memory.workerIdle)}, ${mib(memory.workerAfterHeal)}; all ${mib(memory.allIdle)}, ${mib(memory.allAfterHeal)}`,
  );
  for (const h of heals) {
    console.log(
      `  heal of ${h.record.node} (${h.seconds.toFixed(1)} s): ${requestsLine(h.requests)}`,
    );
  }
  return { step, memory, heals };
}

/** Worker start → first heal: the alert is in, its job due, and only then the worker starts. */
async function firstHeal(kube: KubeClients, kubeconfig: string, auditLog: string) {
  const harness = await startScaleHarness(kubeconfig, { workers: 0 });
  try {
    const target = await createHealTarget(kube, 'first', 30);
    const alertAt = Date.now();
    await injectFault(kube, harness, target);
    await sleep(3000); // past the catalog's 1 s debounce: the job waits for a worker
    const spawnedAt = Date.now();
    await harness.startWorker();
    const healthyAt = Date.now();
    const healed = await awaitHeal(kube, harness, auditLog, target, alertAt);
    return {
      healthy: (healthyAt - spawnedAt) / 1000,
      started: (healed.record.createdAt - spawnedAt) / 1000,
      healed: ((healed.record.endedAt ?? NaN) - spawnedAt) / 1000,
    };
  } finally {
    await harness.stop();
  }
}

function runIntake(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'test', 'bench', 'intake.ts')], {
      env: { ...process.env, BENCH_SECONDS: '5', BENCH_SIZES: '1,100', BENCH_FRESH: '0', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`intake exited ${code}: ${out.slice(-2000)}`)),
    );
  });
}

/** Runs one part of the benchmark; a failure is printed and the run goes on (exit code 1). */
async function part<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    console.log(`  ${name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return undefined;
  }
}

function printDrains(label: string, runs: DrainRun[]) {
  for (const r of runs) {
    console.log(`  ${label}, ${r.scenario}: ${r.seconds.toFixed(2)} s`);
    console.log(disruptionLine(r.disruption));
  }
}

if (SCALE_ENTRY === 'dist/main.js') {
  // What the image runs: compile first (dist/ is not in git).
  console.log('building dist/ (npm run build) ...');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}
const runStarted = performance.now();
const stack = await startStack({
  mode: 'attached',
  parts: ['kube'],
  nodeLeaseDurationSeconds: 40,
  nodeMonitorGracePeriodSeconds: 50,
});
try {
  const kube = adminClients(stack.info);
  const auditLog = stack.info.auditLog!;
  const kubeconfig = (await nodehealKubeconfig(kube, stack.info)).path;
  const receivers = await createNodePool(kube, { name: 'recv', size: 4 });
  console.log(
    `scale benchmark: ${fullNodes} nodes, ${fullPods} pods, nodeheal run as ${SCALE_ENTRY} (stack ${stack.info.runDir})`,
  );

  const drainSmall =
    process.env.SCALE_DRAIN === '0' ? [] : await drainRuns(kube, receivers, 'small', DRAIN_PODS);
  printDrains(`drain in the small cluster (${receivers.length + 1} nodes)`, drainSmall);

  const cluster = startScaleCluster(kube);
  const sizes = smallNodes > 0 && smallNodes < fullNodes ? [smallNodes, fullNodes] : [fullNodes];
  const reports: SizeReport[] = [];
  for (const nodes of sizes) {
    const step = await cluster.growTo(nodes, Math.round((fullPods * nodes) / fullNodes));
    console.log(
      `  grew to ${step.nodes} nodes (${step.nodesSeconds.toFixed(1)} s to all Ready) and ` +
        `${step.pods} pods (${step.podsSeconds.toFixed(1)} s to all Running)`,
    );
    reports.push(await measureAtSize(kube, kubeconfig, auditLog, step));
  }

  const first = (await part('worker start → first heal', () =>
    firstHeal(kube, kubeconfig, auditLog),
  )) ?? { healthy: NaN, started: NaN, healed: NaN };
  console.log(
    `  worker start → /healthz ${first.healthy.toFixed(1)} s, → heal started ${first.started.toFixed(1)} s, → healed ${first.healed.toFixed(1)} s`,
  );

  const drainBig =
    process.env.SCALE_DRAIN === '0'
      ? []
      : ((await part('drain in the large cluster', () =>
          drainRuns(kube, [...receivers, ...cluster.nodes], 'big', DRAIN_PODS),
        )) ?? []);
  printDrains(`drain in the ${fullNodes}-node cluster`, drainBig);

  let intake: [string, string] | undefined;
  if (process.env.SCALE_INTAKE !== '0') {
    intake = await part('intake', async () => {
      const baseline = await runIntake({});
      console.log(baseline);
      const indexed = await runIntake({ BENCH_KUBECONFIG: kubeconfig });
      console.log(indexed);
      return [baseline, indexed] as [string, string];
    });
  }

  console.log('');
  console.log(`# Scale (${fullNodes} nodes, ${fullPods} pods)`);
  console.log('cluster growth (parallel creates, 64 in flight; pods bound to nodes):');
  for (const r of reports) {
    console.log(
      `  to ${r.step.nodes} nodes: ${r.step.nodesSeconds.toFixed(1)} s; to ${r.step.pods} pods Running: ${r.step.podsSeconds.toFixed(1)} s`,
    );
  }
  console.log('resident memory (VmRSS), target ≤ 256 MiB each:');
  console.log('  nodes   serve idle/after heal   worker idle/after heal   all idle/after heal');
  for (const r of reports) {
    const m = r.memory;
    const max = Math.max(...(Object.values(m) as number[]).filter(Number.isFinite));
    console.log(
      `  ${String(r.step.nodes).padStart(5)}   ${mib(m.serveIdle)} / ${mib(m.serveAfterHeal)}        ${mib(m.workerIdle)} / ${mib(m.workerAfterHeal)}         ${mib(m.allIdle)} / ${mib(m.allAfterHeal)}   ${max <= 256 ? 'PASS' : 'MISS'}`,
    );
  }
  if (reports.length === 2) {
    const [a, b] = reports as [SizeReport, SizeReport];
    const per1000 = (key: keyof Memory) =>
      ((b.memory[key] - a.memory[key]) * 1000) / (b.step.nodes - a.step.nodes);
    console.log(
      `  growth per 1,000 nodes (and ${Math.round(fullPods / (fullNodes / 1000))} pods): serve ${per1000('serveIdle').toFixed(0)} MiB, worker ${per1000('workerIdle').toFixed(0)} MiB, all ${per1000('allIdle').toFixed(0)} MiB (idle)`,
    );
  }
  console.log(
    'apiserver requests per heal (replace: cordon, drain, KWOK replacement), nodeheal identity:',
  );
  for (const r of reports) {
    for (const h of r.heals) {
      console.log(`  ${r.step.nodes} nodes, ${h.record.node}: ${requestsLine(h.requests)}`);
    }
  }
  console.log(
    `worker start → first heal (30 pods, replace): healthy ${first.healthy.toFixed(1)} s, heal started ${first.started.toFixed(1)} s, healed ${first.healed.toFixed(1)} s`,
  );
  if (drainSmall.length > 0) {
    console.log(
      `drain of ${DRAIN_PODS} pods, nodeheal's drainer: small cluster vs ${fullNodes} nodes`,
    );
    for (const [i, s] of drainSmall.entries()) {
      const b = drainBig[i];
      console.log(
        `  ${s.scenario.padEnd(44)} ${s.seconds.toFixed(2).padStart(6)} s   ${(b?.seconds ?? NaN).toFixed(2).padStart(6)} s   recovery ${s.disruption.recoverySeconds?.toFixed(1)} s / ${b?.disruption.recoverySeconds?.toFixed(1)} s`,
      );
    }
  }
  if (intake) {
    for (const [name, out] of [
      ['intake, no node index (baseline)', intake[0]],
      [`intake, node index of the ${fullNodes}-node cluster`, intake[1]],
    ] as const) {
      console.log(`${name}:`);
      for (const line of out
        .split('\n')
        .filter((l) => l.startsWith('|') || l.includes('PASS') || l.includes('MISS'))) {
        console.log(`  ${line}`);
      }
    }
  }
  console.log(`whole run: ${((performance.now() - runStarted) / 1000).toFixed(0)} s`);
} finally {
  await stack.stop();
}
