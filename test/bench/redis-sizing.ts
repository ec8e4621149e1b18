// `node test/bench/redis-sizing.ts`: what nodeheal costs Redis, to size it (docs/reliability.md).
// A private Redis (queue/redis.conf) and the real `nodeheal serve` (no Kubernetes, no worker).
// BENCH_NODES distinct nodes each get a NodeNotReady alert (BENCH_BATCH alerts a request, the
// way Alertmanager groups them), then each one's resolution. Printed, from Redis' INFO and
// MEMORY USAGE:
//   - used_memory per pending heal (its fault history, BullMQ job, delayed entry, alert log);
//   - per fault remembered once resolved (the history that stays a week, the log entries);
//   - the size of one key of each kind, and the alert log per entry (capped at 200,000);
//   - commands and ops/s Redis served while the storm was posted as fast as serve took it.
// Always exits 0 unless the setup fails: it is a benchmark, not a test.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseDocument } from 'yaml';
import { shortDebounceCatalog } from '../integration/support/nodeheal-process.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { emptyStack, startRedis } from '../stack/stack.ts';
import { httpGet, waitFor } from '../stack/wait.ts';

const NODES = Number(process.env.BENCH_NODES ?? 5000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);

function labelsOf(node: string): Record<string, string> {
  // What kube-state-metrics' NodeNotReady alert carries through the Prometheus Operator.
  return {
    alertname: 'NodeNotReady',
    condition: 'Ready',
    container: 'kube-state-metrics',
    instance: '10.244.1.17:8080',
    job: 'kube-state-metrics',
    namespace: 'monitoring',
    node,
    pod: 'kube-state-metrics-7d9c6b5f4-x2k8p',
    severity: 'critical',
    status: 'false',
  };
}

function body(nodes: string[], status: 'firing' | 'resolved', startsAt: string): string {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="NodeNotReady"}',
    truncatedAlerts: 0,
    status,
    receiver: 'nodeheal',
    groupLabels: { alertname: 'NodeNotReady' },
    commonLabels: { alertname: 'NodeNotReady' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager-main-0:9093',
    alerts: nodes.map((node) => ({
      status,
      labels: labelsOf(node),
      annotations: { summary: `Node ${node} reports NotReady` },
      startsAt,
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus-k8s-0:9090/graph?g0.expr=kube_node_status_condition',
      fingerprint: `nn-${node}`,
    })),
  });
}

async function info(redis: Redis, section: string, field: string): Promise<number> {
  const text = await redis.info(section);
  const line = text.split('\r\n').find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(':')[1] ?? NaN);
}

async function memoryOf(redis: Redis, pattern: string): Promise<number | undefined> {
  const [, found] = await redis.scan('0', 'MATCH', pattern, 'COUNT', 1000);
  const key = found[0];
  return key === undefined ? undefined : ((await redis.memory('USAGE', key)) ?? undefined);
}

/** One BullMQ job's hash, found through the delayed set (its key is the prefix and the job id). */
async function jobMemory(redis: Redis): Promise<number | undefined> {
  const [id] = await redis.zrange('nodeheal:heal:delayed', '0', '0');
  if (id === undefined) return undefined;
  return (await redis.memory('USAGE', `nodeheal:heal:${id}`)) ?? undefined;
}

async function post(url: string, payload: string): Promise<void> {
  const res = await fetch(`${url}/webhook/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: payload,
  });
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

async function storm(url: string, nodes: string[], status: 'firing' | 'resolved', at: string) {
  const batches: string[][] = [];
  for (let i = 0; i < nodes.length; i += BATCH) batches.push(nodes.slice(i, i + BATCH));
  // Four requests in flight, as a few Alertmanager groups flushing at once.
  let next = 0;
  const lane = async () => {
    while (next < batches.length) await post(url, body(batches[next++]!, status, at));
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
}

const stack = emptyStack();
try {
  await startRedis(stack, 'redis-sizing');
  const redis = new Redis(stack.info.redisUrl!);
  // Debounce a day: every heal stays pending, as in a storm that the safety budget holds.
  const rules = join(stack.info.runDir, 'remedies.yaml');
  writeFileSync(rules, parseDocument(shortDebounceCatalog('24h')).toString());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serve = stack.start({
    name: 'nodeheal',
    dir: join(stack.info.runDir, 'nodeheal'),
    cwd: repoRoot,
    command: process.execPath,
    args: [join(repoRoot, 'src', 'main.ts'), 'serve', '--insecure-no-auth'],
    env: {
      NODEHEAL_REDIS_URL: stack.info.redisUrl!,
      NODEHEAL_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_LOG_LEVEL: 'warn',
      NODEHEAL_RULES: rules,
      KUBECONFIG: join(stack.info.runDir, 'no-such-kubeconfig'),
    },
  });
  await waitFor('nodeheal /healthz', () => httpGet(`${url}/healthz`), {
    timeoutMs: 30_000,
    isDead: () => serve.deathReason(),
  });
  await post(url, body(['warm-up'], 'firing', new Date().toISOString()));

  const nodes = Array.from({ length: NODES }, (_, i) => `ip-10-2-${Math.floor(i / 250)}-${i}`);
  const startsAt = new Date(Date.now() - 5000).toISOString();
  const memory0 = await info(redis, 'memory', 'used_memory');
  const commands0 = await info(redis, 'stats', 'total_commands_processed');
  const t0 = performance.now();
  await storm(url, nodes, 'firing', startsAt);
  const seconds = (performance.now() - t0) / 1000;
  const commands = (await info(redis, 'stats', 'total_commands_processed')) - commands0;
  const memory1 = await info(redis, 'memory', 'used_memory');
  const sizes = {
    history: await memoryOf(redis, 'nodeheal:history:*'),
    job: await jobMemory(redis),
    delayed: ((await redis.memory('USAGE', 'nodeheal:heal:delayed')) ?? 0) / NODES,
  };
  const logBytes = (await redis.memory('USAGE', 'nodeheal:alerts')) ?? 0;
  const logEntries = await redis.xlen('nodeheal:alerts');

  await storm(url, nodes, 'resolved', startsAt);
  const memory2 = await info(redis, 'memory', 'used_memory');
  const logAfter = (await redis.memory('USAGE', 'nodeheal:alerts')) ?? 0;
  const entriesAfter = await redis.xlen('nodeheal:alerts');

  const kb = (n: number) => `${(n / 1024).toFixed(2)} KiB`;
  console.log(`redis sizing: ${NODES} nodes, ${BATCH} alerts a request (Redis 7.0, jemalloc)`);
  console.log(`  used_memory before         ${kb(memory0)}`);
  console.log(`  per pending heal           ${kb((memory1 - memory0) / NODES)}`);
  console.log(`  per fault resolved (kept)  ${kb((memory2 - memory0) / NODES)}`);
  console.log(`  one fault history key      ${kb(sizes.history ?? NaN)}`);
  console.log(`  one BullMQ job hash        ${kb(sizes.job ?? NaN)}`);
  console.log(`  delayed set, per job       ${kb(sizes.delayed)}`);
  console.log(`  alert log, per entry       ${kb(logBytes / Math.max(1, logEntries))}`);
  console.log(`  alert log, whole           ${kb(logAfter)} for ${entriesAfter} entries`);
  console.log(
    `  firing storm: ${(NODES / seconds).toFixed(0)} alerts/s, ${commands} commands ` +
      `(${(commands / NODES).toFixed(2)} per alert), ${(commands / seconds).toFixed(0)} ops/s`,
  );
  redis.disconnect();
} finally {
  await stack.stop();
}
