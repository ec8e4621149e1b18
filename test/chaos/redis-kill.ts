// Scenario 2: Redis SIGKILLed in the middle of a burst of webhook deliveries, then restarted from
// its AOF. Every alert nodeheal answered 200 must be there after the restart (its heal job and
// its entry in the alert log); the deliveries that failed are sent again, as Alertmanager
// retries them, and then every alert of the burst has exactly one heal job: none lost, none
// doubled by a delivery that was half written when Redis died.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HEAL_QUEUE, type HealJob } from '../../src/queue/index.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { uniqueName } from '../stack/helpers/kube.ts';
import { isAlive, type ManagedProcess } from '../stack/process.ts';
import { emptyStack, restartRedis, startRedis, type Stack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import {
  shortDebounceCatalog,
  startNodeheal,
  type NodehealProcess,
} from '../integration/support/nodeheal-process.ts';
import type { Rng } from './rng.ts';
import { runRounds, type Tally } from './tally.ts';

export const REDIS_KILL = 'redis-kill';
const TOKEN = 'chaos-token';
const REQUESTS = 40;
const ALERTS_PER_REQUEST = 5;
const CONCURRENCY = 8;

/** One Alertmanager v4 webhook body with a NodeKernelDeadlock alert for each node. */
function webhookBody(nodes: string[]): string {
  const startsAt = new Date().toISOString();
  const common = { alertname: 'NodeKernelDeadlock', severity: 'critical' };
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="NodeKernelDeadlock"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'nodeheal',
    groupLabels: { alertname: 'NodeKernelDeadlock' },
    commonLabels: common,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.chaos',
    alerts: nodes.map((node) => ({
      status: 'firing',
      labels: { ...common, node },
      annotations: {},
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.chaos',
      fingerprint: `chaos-${node}`,
    })),
  });
}

async function deliver(url: string, nodes: string[]): Promise<boolean> {
  try {
    const res = await fetch(`${url}/webhook/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: webhookBody(nodes),
      signal: AbortSignal.timeout(10_000),
    });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

export interface RedisKillRig {
  stack: Stack;
  redis: ManagedProcess;
  nodeheal: NodehealProcess;
  stop(): Promise<void>;
}

/** A private Redis and `nodeheal serve` (debounce 1 h: every job stays delayed, nothing acts). */
export async function startRedisKillRig(kubeconfig: string): Promise<RedisKillRig> {
  const stack = emptyStack();
  const redis = await startRedis(stack, 'redis-chaos');
  const nodeheal = await startNodeheal(
    {
      NODEHEAL_REDIS_URL: stack.info.redisUrl!,
      KUBECONFIG: kubeconfig,
      NODEHEAL_WEBHOOK_TOKEN: TOKEN,
      NODEHEAL_LOG_LEVEL: 'warn',
    },
    shortDebounceCatalog('1h'),
  );
  const rig: RedisKillRig = {
    stack,
    redis,
    nodeheal,
    stop: async () => {
      await nodeheal.stop();
      await stack.stop();
    },
  };
  return rig;
}

/** Heal jobs of `nodes` by node, in every state (one read of the whole queue). */
async function jobsByNode(redisUrl: string, nodes: Set<string>): Promise<Map<string, number>> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<HealJob>(HEAL_QUEUE, { connection, prefix: 'nodeheal' });
  try {
    const jobs = await queue.getJobs(
      ['delayed', 'waiting', 'active', 'completed', 'failed', 'prioritized'],
      0,
      -1,
    );
    const counts = new Map<string, number>();
    for (const job of jobs) {
      if (nodes.has(job.data.node)) counts.set(job.data.node, (counts.get(job.data.node) ?? 0) + 1);
    }
    return counts;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Nodes with a firing entry in nodeheal's durable alert log. */
async function loggedNodes(redisUrl: string): Promise<Set<string>> {
  const client = new Redis(redisUrl);
  try {
    const entries = await client.xrange('nodeheal:alerts', '-', '+');
    const nodes = new Set<string>();
    for (const [, fields] of entries) {
      const record = JSON.parse(fields[1] ?? '{}') as { node?: string; status?: string };
      if (record.status === 'firing' && record.node) nodes.add(record.node);
    }
    return nodes;
  } finally {
    client.disconnect();
  }
}

async function killRedis(proc: ManagedProcess): Promise<void> {
  process.kill(proc.pid, 'SIGKILL');
  await eventually('Redis gone', () => !isAlive(proc.pid), 10_000, 20);
}

async function oneRound(
  rig: RedisKillRig,
  rng: Rng,
  tally: Tally,
  round: number,
  log: (line: string) => void,
) {
  const prefix = uniqueName('rk');
  const batches = Array.from({ length: REQUESTS }, (_, r) =>
    Array.from({ length: ALERTS_PER_REQUEST }, (_, a) => `${prefix}-${r}-${a}`),
  );
  const acked = new Set<string>();
  const failed: string[][] = [];
  let next = 0;
  const sender = async () => {
    for (let i = next++; i < batches.length; i = next++) {
      const batch = batches[i]!;
      if (await deliver(rig.nodeheal.url, batch)) batch.forEach((n) => acked.add(n));
      else {
        failed.push(batch);
      }
    }
  };
  const burst = Promise.all(Array.from({ length: CONCURRENCY }, sender));
  // Somewhere in the burst, or right after its last answer.
  await Promise.race([sleep(rng.between(0, 400)), burst]);
  await killRedis(rig.redis);
  await burst;
  tally.faults += 1;
  log(
    `  ${REDIS_KILL} round ${round}: Redis killed after ${acked.size} alerts answered 200 ` +
      `(${failed.length} of ${REQUESTS} deliveries failed and are sent again)`,
  );
  rig.redis = await restartRedis(rig.stack, rig.redis);
  const url = rig.stack.info.redisUrl!;
  const all = new Set(batches.flat());

  // Everything acknowledged before the kill is there after the restart.
  const afterRestart = await jobsByNode(url, all);
  const logged = await loggedNodes(url);
  const lostAcked = [...acked].filter((n) => !afterRestart.has(n) || !logged.has(n));
  if (lostAcked.length > 0) {
    tally.problems.push(`round ${round}: acknowledged, then lost: ${lostAcked.join(', ')}`);
  }
  // Alertmanager sends the failed deliveries again until they are answered 200.
  for (const batch of failed) {
    await eventually(
      'a retried delivery answered 200',
      () => deliver(rig.nodeheal.url, batch),
      60_000,
      500,
    );
  }
  const final = await jobsByNode(url, all);
  tally.expected += all.size;
  tally.recorded += [...final.values()].reduce((a, b) => a + b, 0);
  const missing = [...all].filter((n) => !final.has(n));
  tally.lost += new Set([...missing, ...lostAcked]).size;
  if (missing.length > 0)
    tally.problems.push(`round ${round}: never recorded: ${missing.join(', ')}`);
  const doubled = [...final].filter(([, count]) => count > 1);
  tally.doubled += doubled.length;
  if (doubled.length > 0) {
    tally.problems.push(
      `round ${round}: doubled jobs: ${doubled.map(([n, c]) => `${n}×${c}`).join(', ')}`,
    );
  }
}

/** Runs `rounds` bursts with Redis killed under them. */
export async function redisKillRounds(
  rig: RedisKillRig,
  rng: Rng,
  rounds: number,
  log: (line: string) => void,
): Promise<Tally> {
  return await runRounds(REDIS_KILL, rounds, (tally, round) =>
    oneRound(rig, rng, tally, round, log),
  );
}
