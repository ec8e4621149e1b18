// `npm run bench:intake`: webhook intake throughput and latency of the real `nodeheal serve`
// (real Redis with queue/redis.conf, no Kubernetes) against a bare express endpoint that only
// parses JSON, both in child processes, driven by autocannon in this process.
//
// Runs, each BENCH_SECONDS (default 10) after a short warm-up, 20 connections:
//   - 1, 10 and 100 alerts per request, the same payload again and again: the first delivery
//     creates the jobs, every later one is an Alertmanager repeat (the realistic steady state);
//   - 100 alerts per request with new node names in every request (first deliveries only);
//   - nodeheal at a fixed 500 requests/s with 1 alert per request, for its latency.
// Each run also reports, from /proc, the CPU of the server and of Redis (also per alert answered,
// a figure background load hardly moves) and the CPU every other process took meanwhile, with a
// warning when that was large. Then prints the targets with PASS or MISS. Always exits 0 unless
// the setup itself fails: it is a benchmark, not a test.
//
// Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 20), BENCH_WARMUP_SECONDS
// (default 2), BENCH_SIZES (alerts per request, default 1,10,100), BENCH_FRESH=0 (skip the fresh
// rows), BENCH_REDIS_STATS=1 prints Redis' INFO commandstats per alert for each nodeheal row,
// BENCH_CPU_PROF=<dir> runs nodeheal under `node --cpu-prof` and writes its profile
// there when it stops. BENCH_FSYNC=everysec,always measures nodeheal's rows again with each Redis
// `appendfsync` mode in turn (CONFIG SET on the same Redis; default: queue/redis.conf's own), so
// the durability setting's cost is read side by side from one run.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import type { ManagedProcess } from '../stack/process.ts';
import { emptyStack, startRedis, type Stack } from '../stack/stack.ts';
import { httpGet, waitFor } from '../stack/wait.ts';

// autocannon ships no type declarations: the part of its API used here.
interface BenchRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: BenchRequest) => BenchRequest;
}
interface BenchOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body?: string;
  requests?: BenchRequest[];
  connections: number;
  duration: number;
  overallRate?: number;
  timeout?: number;
}
interface BenchResult {
  /** Seconds. */
  duration: number;
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; sent: number };
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: BenchOptions,
) => Promise<BenchResult>;

const seconds = positiveNumber('BENCH_SECONDS', 10);
const connections = positiveNumber('BENCH_CONNECTIONS', 20);
const warmupSeconds = positiveNumber('BENCH_WARMUP_SECONDS', 2);
const cpuProfDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const FIXED_RATE = 500;
const SIZES = sizesFromEnv();
// Profiling one case: BENCH_SIZES=1 runs only the 1-alert rows; BENCH_FRESH=0 skips the fresh rows.
const runFresh = process.env.BENCH_FRESH !== '0';
// Redis appendfsync modes to measure nodeheal under; empty: leave queue/redis.conf's setting.
const FSYNC_MODES = (process.env.BENCH_FSYNC ?? '').split(',').filter((m) => m !== '');

const TARGETS = {
  alertsPerSecondAt100: 20_000,
  reqRatioAt1: 0.5,
  p99AtFixedRateMs: 25,
};

function sizesFromEnv(): number[] {
  const raw = process.env.BENCH_SIZES ?? '1,10,100';
  const sizes = raw.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) {
    console.error(`BENCH_SIZES must be positive integers separated by commas, got ${raw}`);
    process.exit(2);
  }
  return sizes;
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Alertmanager v4 payloads (src/intake/alertmanager-payload.ts), shaped like what Alertmanager
// sends for the NodeNotReady rule of alert-rules/prometheus/node-health.yaml.

const ZERO_TIME = '0001-01-01T00:00:00Z';
const ALERTNAME = 'NodeNotReady';

function fingerprint(labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u00ff${labels[k]}`);
  return createHash('sha256').update(pairs.join('\u00fe')).digest('hex').slice(0, 16);
}

function alertFor(node: string, startsAt: string) {
  const labels: Record<string, string> = {
    alertname: ALERTNAME,
    condition: 'Ready',
    container: 'kube-state-metrics',
    endpoint: 'http',
    instance: '10.244.1.17:8080',
    job: 'kube-state-metrics',
    namespace: 'monitoring',
    node,
    nodeheal: 'true',
    pod: 'kube-state-metrics-7d9c6b5f4-x2k8p',
    service: 'kube-state-metrics',
    severity: 'critical',
    status: 'false',
  };
  return {
    status: 'firing',
    labels,
    annotations: { summary: `Node ${node} reports NotReady` },
    startsAt,
    endsAt: ZERO_TIME,
    generatorURL:
      'http://prometheus-k8s-0:9090/graph?g0.expr=kube_node_status_condition%7Bcondition%3D%22Ready%22%2Cstatus%3D%22false%22%7D+%3D%3D+1&g0.tab=1',
    fingerprint: fingerprint(labels),
  };
}

/** One webhook body, as Alertmanager groups NodeNotReady alerts by alertname. */
function payload(nodes: string[]): string {
  const startsAt = new Date(Date.now() - 5_000).toISOString();
  return JSON.stringify({
    receiver: 'nodeheal',
    status: 'firing',
    alerts: nodes.map((node) => alertFor(node, startsAt)),
    groupLabels: { alertname: ALERTNAME },
    commonLabels: {
      alertname: ALERTNAME,
      condition: 'Ready',
      job: 'kube-state-metrics',
      nodeheal: 'true',
      severity: 'critical',
      status: 'false',
    },
    commonAnnotations: {},
    externalURL: 'http://alertmanager-main-0:9093',
    version: '4',
    groupKey: `{}/{nodeheal="true"}:{alertname="${ALERTNAME}"}`,
    truncatedAlerts: 0,
  });
}

function nodeNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
}

/** Repeats: the same `size` nodes in every request. */
function repeatPayload(size: number): string {
  return payload(nodeNames(`ip-10-0-rep${size}`, size));
}

/** First deliveries: `size` nodes nobody has seen before, in every request. */
let freshSeq = 0;
function freshPayload(size: number): string {
  freshSeq++;
  return payload(nodeNames(`ip-10-1-fresh${freshSeq}`, size));
}

// ---------------------------------------------------------------------------------------------
// Targets: nodeheal and the bare endpoint, each a child process of the private stack.

interface Target {
  name: 'nodeheal' | 'bare';
  url: string;
  proc: ManagedProcess;
}

async function waitHealthy(target: Target): Promise<void> {
  await waitFor(`${target.name} /healthz`, () => httpGet(`${target.url}/healthz`), {
    timeoutMs: 30_000,
    isDead: () => target.proc.deathReason(),
  });
}

async function startNodeheal(stack: Stack, redisUrl: string): Promise<Target> {
  const port = await freePort();
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const proc = stack.start({
    name: 'nodeheal',
    dir: join(stack.info.runDir, 'nodeheal'),
    cwd: repoRoot,
    command: process.execPath,
    args: [...nodeArgs, join(repoRoot, 'src', 'main.ts'), 'serve', '--insecure-no-auth'],
    env: {
      NODEHEAL_REDIS_URL: redisUrl,
      NODEHEAL_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_LOG_LEVEL: 'warn',
      // No Kubernetes unless BENCH_KUBECONFIG names a cluster: a kubeconfig that does not exist
      // (serve carries on without a node cache). With one, serve watches that cluster's Nodes and
      // every alert is resolved against their index (npm run bench:scale: 1,000 nodes).
      KUBECONFIG: process.env.BENCH_KUBECONFIG ?? join(stack.info.runDir, 'no-such-kubeconfig'),
    },
  });
  const target: Target = { name: 'nodeheal', url: `http://127.0.0.1:${port}`, proc };
  await waitHealthy(target);
  return target;
}

async function startBare(stack: Stack): Promise<Target> {
  const port = await freePort();
  const proc = stack.start({
    name: 'bare',
    dir: join(stack.info.runDir, 'bare'),
    cwd: repoRoot,
    command: process.execPath,
    args: [join(repoRoot, 'test', 'bench', 'bare-endpoint.ts'), String(port)],
  });
  const target: Target = { name: 'bare', url: `http://127.0.0.1:${port}`, proc };
  await waitHealthy(target);
  return target;
}

// ---------------------------------------------------------------------------------------------
// Runs.

interface Row {
  target: Target['name'];
  /** Redis' appendfsync during the run. */
  fsync: string;
  variant: 'repeat' | 'fresh' | `fixed ${number}/s`;
  alerts: number;
  reqPerSec: number;
  alertsPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /**
   * CPU during the measured run: the target, Redis and everything not ours in % of one core, and
   * the target's and Redis's CPU time per alert answered (µs), which background load hardly moves.
   */
  cpu: Cpu | undefined;
}

interface Cpu {
  target: number;
  redis: number;
  other: number;
  targetUsPerAlert: number;
  redisUsPerAlert: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

async function cannon(
  target: Target,
  body: { fixed: string } | { fresh: number },
  duration: number,
  overallRate?: number,
): Promise<BenchResult> {
  const url = `${target.url}/webhook/alertmanager`;
  const common = {
    url,
    method: 'POST' as const,
    headers: JSON_HEADERS,
    connections,
    duration,
    timeout: 10,
    ...(overallRate ? { overallRate } : {}),
  };
  if ('fixed' in body) return await autocannon({ ...common, body: body.fixed });
  const size = body.fresh;
  return await autocannon({
    ...common,
    requests: [
      {
        method: 'POST',
        path: '/webhook/alertmanager',
        headers: JSON_HEADERS,
        setupRequest: (request) => ({ ...request, body: freshPayload(size) }),
      },
    ],
  });
}

async function measure(
  target: Target,
  variant: Row['variant'],
  alerts: number,
  body: { fixed: string } | { fresh: number },
  overallRate?: number,
): Promise<Row> {
  await cannon(target, body, warmupSeconds, overallRate);
  const statsBefore = redisStats && target.name === 'nodeheal' ? await commandStats() : undefined;
  const before = cpuSnapshot(target);
  const r = await cannon(target, body, seconds, overallRate);
  const cpu = cpuSince(before, cpuSnapshot(target), r['2xx'] * alerts);
  if (statsBefore) printCommandStats(statsBefore, await commandStats(), r['2xx'] * alerts);
  // Throughput counts answered 2xx only: an error answer recorded nothing.
  const reqPerSec = r['2xx'] / r.duration;
  const row: Row = {
    target: target.name,
    fsync: currentFsync,
    variant,
    alerts,
    reqPerSec,
    alertsPerSec: reqPerSec * alerts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpu,
  };
  console.log(
    `  ${row.target.padEnd(8)} ${row.fsync.padEnd(8)} ${row.variant.padEnd(13)} ${String(alerts).padStart(3)} alerts/req: ` +
      `${fmt(row.reqPerSec)} req/s, ${fmt(row.alertsPerSec)} alerts/s, ` +
      `p50 ${row.p50} ms, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}` +
      (cpu
        ? `; CPU ${row.target} ${pct(cpu.target)}, redis ${pct(cpu.redis)}, other ${pct(cpu.other)}`
        : ''),
  );
  return row;
}

// Redis' own account of where its time went (BENCH_REDIS_STATS=1): INFO commandstats before and
// after a nodeheal run, the commands by total time, per alert answered.

const redisStats = process.env.BENCH_REDIS_STATS === '1';
let statsClient: Redis | undefined;

async function commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await (statsClient as Redis).info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(m[1] ?? '', { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

function printCommandStats(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
  alertsAnswered: number,
): void {
  const rows = [...after]
    .map(([name, a]) => {
      const b = before.get(name) ?? { calls: 0, usec: 0 };
      return { name, calls: a.calls - b.calls, usec: a.usec - b.usec };
    })
    .filter((r) => r.calls > 0)
    .sort((x, y) => y.usec - x.usec)
    .slice(0, 6);
  const per = (n: number) => (alertsAnswered > 0 ? n / alertsAnswered : 0);
  console.log(
    '    redis: ' +
      rows
        .map(
          (r) =>
            `${r.name} ${per(r.calls).toFixed(2)} calls, ${per(r.usec).toFixed(1)} µs per alert`,
        )
        .join('; '),
  );
}

// CPU accounting from /proc (Linux; skipped elsewhere): how busy the target and Redis were, and
// how much CPU processes other than this benchmark's took, which would distort the figures.

interface CpuSnapshot {
  at: number;
  /** Busy ticks of the whole machine. */
  machine: number;
  target: number;
  redis: number;
  /** This process (autocannon) plus both servers and Redis. */
  ours: number;
}

let redisPid = 0;
let allTargets: Target[] = [];
const TICKS_PER_SECOND = 100;

function pidTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function cpuSnapshot(target: Target): CpuSnapshot | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.split(/\s+/).slice(1, 9).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const machine = ticks.reduce((a, b) => a + b, 0) - idle;
    const serverTicks = allTargets.map((t) => pidTicks(t.proc.pid));
    const redis = pidTicks(redisPid);
    return {
      at: Date.now(),
      machine,
      target: pidTicks(target.proc.pid),
      redis,
      ours: pidTicks(process.pid) + redis + serverTicks.reduce((a, b) => a + b, 0),
    };
  } catch {
    return undefined;
  }
}

function cpuSince(
  before: CpuSnapshot | undefined,
  after: CpuSnapshot | undefined,
  alertsAnswered: number,
): Cpu | undefined {
  if (!before || !after) return undefined;
  const per = (ticks: number) => (100 * ticks) / TICKS_PER_SECOND / ((after.at - before.at) / 1000);
  const usPerAlert = (ticks: number) =>
    alertsAnswered > 0 ? (1e6 * ticks) / TICKS_PER_SECOND / alertsAnswered : 0;
  return {
    target: per(after.target - before.target),
    redis: per(after.redis - before.redis),
    other: Math.max(0, per(after.machine - before.machine - (after.ours - before.ours))),
    targetUsPerAlert: usPerAlert(after.target - before.target),
    redisUsPerAlert: usPerAlert(after.redis - before.redis),
  };
}

let currentFsync = '?';

/** Sets Redis' appendfsync when `mode` is given; returns the setting in force. */
async function redisFsync(redisUrl: string, mode?: string): Promise<string> {
  const client = new Redis(redisUrl);
  try {
    if (mode) await client.config('SET', 'appendfsync', mode);
    const [, value] = (await client.config('GET', 'appendfsync')) as [string, string];
    return value;
  } finally {
    client.disconnect();
  }
}

function pct(n: number): string {
  return `${Math.round(n)} %`;
}

/** One delivery of `body`, to check that nodeheal accepts it and triages every alert. */
async function deliver(target: Target, body: string): Promise<string> {
  const response = await fetch(`${target.url}/webhook/alertmanager`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body,
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`${target.name} answered ${response.status} to a valid payload: ${text}`);
  }
  const outcomes = (JSON.parse(text) as { outcomes?: { decision: string; reason: string }[] })
    .outcomes;
  if (!outcomes) return 'ok';
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const k = `${o.decision}/${o.reason}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ');
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function table(rows: Row[]): string {
  const header = [
    'target',
    'appendfsync',
    'payload',
    'alerts/req',
    'req/s',
    'alerts/s',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'errors',
    'server CPU',
    'redis CPU',
    'server µs/alert',
    'redis µs/alert',
    'other CPU',
  ];
  const lines = rows.map((r) => [
    r.target,
    r.fsync,
    r.variant,
    String(r.alerts),
    fmt(r.reqPerSec),
    fmt(r.alertsPerSec),
    String(r.p50),
    String(r.p99),
    String(r.non2xx),
    String(r.errors),
    r.cpu ? pct(r.cpu.target) : '-',
    r.cpu ? pct(r.cpu.redis) : '-',
    r.cpu ? String(Math.round(r.cpu.targetUsPerAlert)) : '-',
    r.cpu ? String(Math.round(r.cpu.redisUsPerAlert)) : '-',
    r.cpu ? pct(r.cpu.other) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const right = new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  const render = (cells: string[]) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}

function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'MISS';
}

// ---------------------------------------------------------------------------------------------

const stack = emptyStack();
// Logs are kept when setup fails or nodeheal answered errors, so that there is something to read.
let keepLogs = true;
try {
  await startRedis(stack);
  const redisUrl = stack.info.redisUrl;
  if (!redisUrl) throw new Error('startRedis did not record a Redis URL');
  const nodeheal = await startNodeheal(stack, redisUrl);
  const bare = await startBare(stack);
  redisPid = stack.info.pids.redis ?? 0;
  if (redisStats) statsClient = new Redis(redisUrl);
  allTargets = [nodeheal, bare];
  console.log(
    `intake benchmark: ${availableParallelism()} cores, node ${process.version}, ` +
      `${seconds} s per run after ${warmupSeconds} s warm-up, ${connections} connections`,
  );
  console.log(`  redis ${redisUrl} (queue/redis.conf), nodeheal ${nodeheal.url}, bare ${bare.url}`);
  if (cpuProfDir) console.log(`  nodeheal CPU profile goes to ${cpuProfDir}`);

  // Sanity: every alert of every payload is triaged (not ignored), first delivery then repeat.
  for (const size of SIZES) {
    const body = repeatPayload(size);
    const first = await deliver(nodeheal, body);
    const again = await deliver(nodeheal, body);
    console.log(`  ${size} alerts/req, first delivery: ${first}; repeat: ${again}`);
  }
  if (runFresh) {
    console.log(`  100 alerts/req, fresh nodes: ${await deliver(nodeheal, freshPayload(100))}`);
  }

  const rows: Row[] = [];
  currentFsync = await redisFsync(redisUrl);
  for (const size of SIZES) {
    const body = { fixed: repeatPayload(size) };
    for (const target of [bare, nodeheal]) {
      rows.push(await measure(target, 'repeat', size, body));
    }
  }
  if (runFresh) {
    for (const target of [bare, nodeheal]) {
      rows.push(await measure(target, 'fresh', 100, { fresh: 100 }));
    }
  }
  const fixed = SIZES.includes(1)
    ? await measure(nodeheal, `fixed ${FIXED_RATE}/s`, 1, { fixed: repeatPayload(1) }, FIXED_RATE)
    : undefined;
  if (fixed) rows.push(fixed);
  // The same nodeheal rows under each asked-for appendfsync mode (the bare endpoint has no Redis).
  for (const mode of FSYNC_MODES) {
    currentFsync = await redisFsync(redisUrl, mode);
    for (const size of SIZES) {
      rows.push(await measure(nodeheal, 'repeat', size, { fixed: repeatPayload(size) }));
    }
    if (runFresh) rows.push(await measure(nodeheal, 'fresh', 100, { fresh: 100 }));
    if (SIZES.includes(1)) {
      rows.push(
        await measure(
          nodeheal,
          `fixed ${FIXED_RATE}/s`,
          1,
          { fixed: repeatPayload(1) },
          FIXED_RATE,
        ),
      );
    }
  }

  const find = (target: Row['target'], variant: Row['variant'], alerts: number) =>
    rows.find((r) => r.target === target && r.variant === variant && r.alerts === alerts);
  const rep100 = find('nodeheal', 'repeat', 100);
  const fresh100 = find('nodeheal', 'fresh', 100);
  const nh1 = find('nodeheal', 'repeat', 1);
  const bare1 = find('bare', 'repeat', 1);

  console.log('');
  console.log(table(rows));
  console.log('CPU: % of one core during the measured run; µs/alert: CPU time per alert answered;');
  console.log(
    '"other": every process not started by this benchmark (autocannon runs in this one).',
  );
  console.log(
    '20,000 alerts/s on one core leaves 50 µs of server CPU per alert (and 50 for Redis).',
  );
  const busiest = Math.max(0, ...rows.map((r) => r.cpu?.other ?? 0));
  if (busiest > 20) {
    console.log(
      `WARNING: other processes took up to ${pct(busiest)} of a core during a run; ` +
        'the figures are lower than on a quiet machine.',
    );
  }
  console.log('');
  if (fixed) {
    console.log(
      `nodeheal at ${FIXED_RATE} req/s, 1 alert/req: p50 ${fixed.p50} ms, p99 ${fixed.p99} ms`,
    );
    console.log(`(achieved ${fmt(fixed.reqPerSec)} req/s, non-2xx ${fixed.non2xx})`);
    console.log('');
  }
  console.log('targets:');
  // A target whose rows were not run (BENCH_SIZES, BENCH_FRESH) is left out.
  const lines: [boolean, string][] = [];
  if (rep100) {
    lines.push([
      rep100.alertsPerSec >= TARGETS.alertsPerSecondAt100,
      `100 alerts/req, repeats: ≥ ${fmt(TARGETS.alertsPerSecondAt100)} alerts/s (measured ${fmt(rep100.alertsPerSec)})`,
    ]);
  }
  if (fresh100) {
    lines.push([
      fresh100.alertsPerSec >= TARGETS.alertsPerSecondAt100,
      `(extra) 100 alerts/req, fresh nodes, every alert a new job: ≥ ${fmt(TARGETS.alertsPerSecondAt100)} alerts/s ` +
        `(measured ${fmt(fresh100.alertsPerSec)}; bounded by BullMQ's Redis cost per job, docs/benchmarks.md)`,
    ]);
  }
  if (nh1 && bare1) {
    lines.push([
      nh1.reqPerSec >= TARGETS.reqRatioAt1 * bare1.reqPerSec,
      `1 alert/req: nodeheal req/s ≥ half of bare (${fmt(nh1.reqPerSec)} vs ${fmt(bare1.reqPerSec)}, ` +
        `${((100 * nh1.reqPerSec) / bare1.reqPerSec).toFixed(0)} %)`,
    ]);
  }
  if (fixed) {
    lines.push([
      fixed.p99 <= TARGETS.p99AtFixedRateMs && fixed.non2xx === 0 && fixed.errors === 0,
      `p99 ≤ ${TARGETS.p99AtFixedRateMs} ms at ${FIXED_RATE} req/s, 1 alert/req, all 2xx ` +
        `(measured p99 ${fixed.p99} ms)`,
    ]);
  }
  for (const [pass, text] of lines) console.log(`  ${verdict(pass)}  ${text}`);
  const nodehealErrors = rows
    .filter((r) => r.target === 'nodeheal')
    .reduce((n, r) => n + r.non2xx + r.errors, 0);
  if (nodehealErrors > 0) {
    console.log(
      `  note: nodeheal answered ${nodehealErrors} requests with non-2xx or errors; its log is ${stack.info.logs.nodeheal}`,
    );
  }
  keepLogs = nodehealErrors > 0;
} finally {
  statsClient?.disconnect();
  await stack.stop({ keepLogs });
}
