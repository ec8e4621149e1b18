// `npm run bench:stack`: how long the warm stack takes to start and how much memory it holds.
// Starts the full stack (HA Alertmanager pair), creates a 10-node pool with 50 pods, samples the
// resident memory of every stack process from /proc for 20 s, and prints start time and peak RSS
// per component and in total.
import { readFileSync } from 'node:fs';
import { adminClients } from '../stack/helpers/kube.ts';
import { createNodePool, poolLabel } from '../stack/helpers/pool.ts';
import {
  createNamespace,
  createReplicaSetWithPdb,
  waitPodsRunning,
} from '../stack/helpers/workloads.ts';
import { startStack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';

function rssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const started = Date.now();
const stack = await startStack({ mode: 'attached', alertmanagers: 2 });
const startSeconds = (Date.now() - started) / 1000;
try {
  const kube = adminClients(stack.info);
  await createNodePool(kube, { name: 'bench', size: 10 });
  await createNamespace(kube, 'bench');
  await createReplicaSetWithPdb(kube, {
    namespace: 'bench',
    name: 'load',
    replicas: 50,
    minAvailable: 40,
    nodeSelector: { [poolLabel]: 'bench' },
  });
  await waitPodsRunning(kube, 'bench', 'app=load', 50, 120_000);

  const peak: Record<string, number> = {};
  let peakTotal = 0;
  for (let i = 0; i < 40; i++) {
    let total = 0;
    for (const [name, pid] of Object.entries(stack.info.pids)) {
      const rss = rssKiB(pid);
      total += rss;
      peak[name] = Math.max(peak[name] ?? 0, rss);
    }
    peakTotal = Math.max(peakTotal, total);
    await sleep(500);
  }
  console.log(`warm stack start: ${startSeconds.toFixed(1)} s (all parts ready)`);
  console.log('peak RSS per component (10 nodes, 50 pods):');
  for (const [name, kib] of Object.entries(peak).sort((a, b) => b[1] - a[1])) {
    console.log(`  ${name.padEnd(26)} ${(kib / 1024).toFixed(0).padStart(5)} MiB`);
  }
  console.log(
    `  ${'total (sampled together)'.padEnd(26)} ${(peakTotal / 1024).toFixed(0).padStart(5)} MiB`,
  );
} finally {
  await stack.stop();
}
