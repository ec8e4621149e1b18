// The delay from a heal job becoming due to nodeheal's first mutating call on the node, measured
// end to end through a real `nodeheal worker` process, BullMQ on a real Redis and the real
// apiserver (a watch on the nodes sees the first write: the `nodeheal.io/heal` annotation, or
// the cordon). Used by `npm run bench:drain`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Watch, type V1Node } from '@kubernetes/client-node';
import { parseDocument } from 'yaml';
import {
  bullmqHealScheduler,
  HEAL_JOB_VERSION,
  producerConnection,
} from '../../src/queue/index.ts';
import { adminClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { startRedis, type Stack } from '../stack/stack.ts';
import { readFileSync } from 'node:fs';

export interface DueLatency {
  samples: number[];
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function measureDueToFirstAction(stack: Stack, jobs = 40): Promise<DueLatency> {
  if (!stack.info.redisUrl) await startRedis(stack);
  const kube = adminClients(stack.info);
  const pool = 'latency';
  const nodes = await createNodePool(kube, { name: pool, size: jobs });
  const dir = mkdtempSync(join(tmpdir(), 'nodeheal-latency-'));
  const doc = parseDocument(readFileSync(join(repoRoot, 'alert-rules', 'remedies.yaml'), 'utf8'));
  const faults = (doc.toJS() as { faults: { name: string }[] }).faults;
  const index = faults.findIndex((f) => f.name === 'kernel-deadlock');
  doc.setIn(['faults', index, 'ladder'], doc.createNode([{ action: 'cordon', timeout: '60s' }]));
  const rules = join(dir, 'remedies.yaml');
  writeFileSync(rules, doc.toString());

  const port = await freePort();
  let output = '';
  const worker = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), 'worker'], {
    env: {
      ...process.env,
      NODEHEAL_REDIS_URL: stack.info.redisUrl!,
      KUBECONFIG: stack.info.kubeconfig!,
      NODEHEAL_RULES: rules,
      NODEHEAL_LOG_LEVEL: 'warn',
      NODEHEAL_WORKER_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_WORKER_CONCURRENCY: String(jobs + 5),
      NODEHEAL_POOL_LABELS: poolLabel,
      // Every heal holds its slot while its cordon is verified: let them all run.
      NODEHEAL_SAFETY: JSON.stringify({ poolBudget: 1000, clusterBudget: 1000 }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const firstWrite = new Map<string, number>();
  const watch = new Watch(kube.kc);
  const request = await watch.watch(
    '/api/v1/nodes',
    { labelSelector: `${poolLabel}=${pool}` },
    (_type: string, node: V1Node) => {
      const name = node.metadata?.name ?? '';
      if (firstWrite.has(name)) return;
      if (node.metadata?.annotations?.['nodeheal.io/heal'] || node.spec?.unschedulable)
        firstWrite.set(name, Date.now());
    },
    () => undefined,
  );
  const redis = producerConnection(stack.info.redisUrl!, 2000);
  await redis.connect();
  const scheduler = bullmqHealScheduler(redis);
  try {
    await eventually(
      'worker up',
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
      30_000,
    );
    const start = Date.now() + 3000;
    const due = new Map<string, number>();
    await Promise.all(
      nodes.map(async (node, i) => {
        const now = Date.now();
        const dueAt = start + i * 150;
        due.set(node, dueAt);
        await scheduler.schedule(
          {
            version: HEAL_JOB_VERSION,
            key: `heal:${node}:kernel-deadlock`,
            node,
            fault: 'kernel-deadlock',
            alertname: 'NodeKernelDeadlock',
            fingerprint: `lat-${node}`,
            labels: { alertname: 'NodeKernelDeadlock', node },
            startsAt: new Date(now).toISOString(),
            dueAt: new Date(dueAt).toISOString(),
            scheduledAt: new Date(now).toISOString(),
            flapping: false,
          },
          dueAt - now,
        );
      }),
    );
    await eventually(
      `first writes on ${jobs} nodes (worker: ${output.slice(-400)})`,
      () => firstWrite.size === jobs,
      120_000,
      100,
    );
    const inOrder = nodes.map((n) => firstWrite.get(n)! - due.get(n)!);
    if (process.env.BENCH_DEBUG) console.log(JSON.stringify(inOrder));
    const samples = [...inOrder].sort((a, b) => a - b);
    return {
      samples,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples[samples.length - 1] ?? NaN,
    };
  } finally {
    (request as { abort?: () => void }).abort?.();
    await scheduler.close();
    redis.disconnect();
    worker.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
