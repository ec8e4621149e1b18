// A running nodeheal (serve + worker processes) on a private Redis, against the shared local
// cluster: what the heal tests drive. Alerts are posted to the webhook the way Alertmanager does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseDocument } from 'yaml';
import type { HealRecord } from '../../../src/heal/index.ts';
import { redisHealStore, type HealStore } from '../../../src/store/heal-store.ts';
import { lockHolder } from '../../../src/store/node-lock.ts';
import { eventually } from '../../stack/helpers/poll.ts';
import { repoRoot } from '../../stack/paths.ts';
import { freePort } from '../../stack/ports.ts';
import { emptyStack, startRedis, type Stack } from '../../stack/stack.ts';
import { shortDebounceCatalog } from './nodeheal-process.ts';

export interface HarnessOptions {
  kubeconfig: string;
  /** fault name -> settings set on it in the catalog (`approval: outage`, `order: fastest`). */
  faultSettings?: Record<string, Record<string, string>>;
  /** fault name -> ladder (action, timeout) overriding the shipped catalog. */
  ladders?: Record<string, { action: string; timeout: string }[]>;
  workerEnv?: Record<string, string>;
  workers?: number;
  /**
   * Run serve and one worker as a single `nodeheal all` process (the process is both the serve
   * and `workers[0]`); `workers` then counts further worker processes.
   */
  allInOne?: boolean;
  /**
   * The script each role runs: `src/main.ts` (default, TypeScript stripped by Node) or
   * `dist/main.js`, the compiled JavaScript the image runs (`npm run build` first).
   */
  entry?: 'src/main.ts' | 'dist/main.js';
}

export interface WorkerProcess {
  /** Where the process serves HTTP (the worker: /healthz, /readyz, /metrics). */
  url: string;
  child: ChildProcess;
  output: () => string;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
  /** True once the test stopped it through `kill` (its metrics are not asked for any more). */
  killedByTest: () => boolean;
}

export interface Harness {
  redis: Redis;
  redisUrl: string;
  store: HealStore;
  serveUrl: string;
  /** The serve process (with `allInOne`, the `nodeheal all` process, also `workers[0]`). */
  serveProcess: WorkerProcess;
  workers: WorkerProcess[];
  startWorker: () => Promise<WorkerProcess>;
  /** Posts a firing notification; `fingerprint` defaults to `<alertname>-<node>`. */
  fire: (
    node: string,
    alertname: string,
    labels?: Record<string, string>,
    startsAt?: Date,
    fingerprint?: string,
  ) => Promise<void>;
  resolve: (
    node: string,
    alertname: string,
    labels?: Record<string, string>,
    startsAt?: Date,
    fingerprint?: string,
  ) => Promise<void>;
  healsFor: (node: string) => Promise<HealRecord[]>;
  finishedHeal: (node: string, timeoutMs?: number) => Promise<HealRecord>;
  workerMetric: (name: string, labels?: Record<string, string>) => Promise<number>;
  /**
   * Waits until the workers' metric reads `expected` (times out naming the last value read): for
   * values a worker computes at scrape time or after the record it follows was saved.
   */
  workerMetricIs: (
    name: string,
    labels: Record<string, string>,
    expected: number,
    timeoutMs?: number,
  ) => Promise<void>;
  stop: () => Promise<void>;
}

/** The webhook token of the harness's serve (what an Alertmanager receiver sends). */
export const HARNESS_WEBHOOK_TOKEN = 'heal-test-token';
const token = HARNESS_WEBHOOK_TOKEN;
/** The admin token of the harness's serve (POST /heals/:id/cancel, /heals/:id/fence...). */
export const HARNESS_ADMIN_TOKEN = 'heal-test-admin-token';

function catalog(options: HarnessOptions): string {
  const doc = parseDocument(shortDebounceCatalog('1s'));
  const faults = (doc.toJS() as { faults: { name: string }[] }).faults;
  for (const [name, ladder] of Object.entries(options.ladders ?? {})) {
    const index = faults.findIndex((f) => f.name === name);
    if (index < 0) throw new Error(`no fault ${name} in the catalog`);
    doc.setIn(['faults', index, 'ladder'], doc.createNode(ladder));
  }
  for (const [name, settings] of Object.entries(options.faultSettings ?? {})) {
    const index = faults.findIndex((f) => f.name === name);
    if (index < 0) throw new Error(`no fault ${name} in the catalog`);
    for (const [key, value] of Object.entries(settings)) doc.setIn(['faults', index, key], value);
  }
  return doc.toString();
}

function spawnRole(
  role: 'serve' | 'worker' | 'all',
  env: Record<string, string>,
  url: string,
  entry: string,
): WorkerProcess {
  let output = '';
  const child = spawn(process.execPath, [join(repoRoot, entry), role], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let killed = false;
  return {
    url,
    child,
    output: () => output,
    killedByTest: () => killed,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      killed = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/** The sum of a metric over every worker the test did not stop, as their /metrics show it now. */
async function readWorkerMetric(
  workers: WorkerProcess[],
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  let total = 0;
  const live = workers.filter((w) => !w.killedByTest());
  if (live.length === 0) throw new Error(`no running worker to read ${name} from`);
  for (const w of live) {
    // A worker that does not answer is a failure, never a 0: "storm is 0" must not pass
    // because the worker is down. Every worker the test did not stop must answer. A loaded
    // machine can take seconds to answer a scrape (the heal gauges are read from Redis then).
    const res = await fetch(`${w.url}/metrics`, { signal: AbortSignal.timeout(15_000) }).catch(
      (error: unknown) => {
        throw new Error(`worker metrics at ${w.url} unreachable: ${String(error)}`, {
          cause: error,
        });
      },
    );
    if (!res.ok) throw new Error(`worker metrics at ${w.url} answered ${res.status}`);
    const text = await res.text();
    for (const line of text.split('\n')) {
      // The metric itself, not another metric whose name starts with it.
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
        total += Number(line.split(' ').pop());
    }
  }
  return total;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const privateStack: Stack = emptyStack();
  await startRedis(privateStack, 'redis-heal');
  const redisUrl = privateStack.info.redisUrl!;
  const dir = mkdtempSync(join(tmpdir(), 'nodeheal-heal-'));
  const rules = join(dir, 'remedies.yaml');
  writeFileSync(rules, catalog(options));
  const servePort = await freePort();
  const common = {
    NODEHEAL_REDIS_URL: redisUrl,
    NODEHEAL_RULES: rules,
    KUBECONFIG: options.kubeconfig,
    NODEHEAL_LOG_LEVEL: 'info',
  };
  const serveUrl = `http://127.0.0.1:${servePort}`;
  const serveEnv = {
    NODEHEAL_LISTEN: `127.0.0.1:${servePort}`,
    NODEHEAL_WEBHOOK_TOKEN: token,
    NODEHEAL_ADMIN_TOKEN: HARNESS_ADMIN_TOKEN,
  };
  const workerEnv = (port: number) => ({
    NODEHEAL_WORKER_LISTEN: `127.0.0.1:${port}`,
    NODEHEAL_POOL_LABELS: 'nodeheal.test/pool',
    NODEHEAL_PROVIDERS: JSON.stringify([
      { selector: { 'node-role.kubernetes.io/worker': '' }, provider: 'kwok' },
    ]),
    NODEHEAL_VERIFY_POLL_MS: '300',
    NODEHEAL_DEFER_MS: '1000',
    NODEHEAL_WORKER_LOCK_MS: '4000',
    NODEHEAL_WORKER_STALLED_MS: '1000',
    NODEHEAL_DRAIN_SKIP_WAIT_MS: '2000',
    NODEHEAL_DRAIN_UNMANAGED: 'evict',
    NODEHEAL_SAFETY: JSON.stringify({ nodeCooldownMs: 0, stormCooldownMs: 3000 }),
    ...options.workerEnv,
  });
  const healthy = async (what: string, proc: WorkerProcess, url: string) =>
    eventually(
      `${what} (${proc.output().slice(-300)})`,
      async () => (await fetch(`${url}/healthz`)).ok,
      30_000,
    );

  const entry = options.entry ?? 'src/main.ts';
  const workers: WorkerProcess[] = [];
  let serve: WorkerProcess;
  if (options.allInOne) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    serve = spawnRole('all', { ...common, ...serveEnv, ...workerEnv(port) }, url, entry);
    await healthy('nodeheal all (serve)', serve, serveUrl);
    await healthy('nodeheal all (worker)', serve, url);
    workers.push(serve);
  } else {
    serve = spawnRole('serve', { ...common, ...serveEnv }, serveUrl, entry);
    await healthy('nodeheal serve', serve, serveUrl);
  }
  const startWorker = async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const w = spawnRole('worker', { ...common, ...workerEnv(port) }, url, entry);
    await healthy('nodeheal worker', w, url);
    workers.push(w);
    return w;
  };
  for (let i = 0; i < (options.workers ?? (options.allInOne ? 0 : 1)); i++) await startWorker();

  const redis = new Redis(redisUrl);
  const store = redisHealStore(redis);
  const post = async (
    status: 'firing' | 'resolved',
    node: string,
    alertname: string,
    labels: Record<string, string>,
    startsAt: Date,
    fingerprint = `${alertname}-${node}`,
  ) => {
    const alertLabels = { alertname, node, ...labels };
    const body = {
      version: '4',
      groupKey: `{}:{alertname="${alertname}"}`,
      truncatedAlerts: 0,
      status,
      receiver: 'nodeheal',
      groupLabels: { alertname },
      commonLabels: alertLabels,
      commonAnnotations: {},
      externalURL: 'http://alertmanager.test',
      alerts: [
        {
          status,
          labels: alertLabels,
          annotations: {},
          startsAt: startsAt.toISOString(),
          endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.test',
          fingerprint,
        },
      ],
    };
    const res = await fetch(`${serveUrl}/webhook/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  };
  const healsFor = async (node: string) => store.list({ node });
  return {
    redis,
    redisUrl,
    store,
    serveUrl,
    serveProcess: serve,
    workers,
    startWorker,
    fire: (node, alertname, labels = {}, startsAt = new Date(Date.now() - 5000), fingerprint) =>
      post('firing', node, alertname, labels, startsAt, fingerprint),
    resolve: (node, alertname, labels = {}, startsAt = new Date(Date.now() - 5000), fingerprint) =>
      post('resolved', node, alertname, labels, startsAt, fingerprint),
    healsFor,
    finishedHeal: async (node, timeoutMs = 120_000) =>
      eventually(
        `a finished heal for ${node}`,
        async () => {
          const heals = await healsFor(node);
          const done = heals.find((h) => h.status !== 'running');
          // The record is saved first; the worker then cleans up (Events, cordon, annotation,
          // slot) and lets go of the node last. Finished means all of that is done.
          if (done === undefined || (await lockHolder(redis, node)) === done.id) return undefined;
          return done;
        },
        timeoutMs,
        500,
      ),
    workerMetric: (name, labels = {}) => readWorkerMetric(workers, name, labels),
    workerMetricIs: async (name, labels, expected, timeoutMs = 30_000) => {
      let last: number | undefined;
      try {
        await eventually(
          `${name} ${JSON.stringify(labels)} at ${expected}`,
          async () => {
            last = await readWorkerMetric(workers, name, labels);
            return last === expected;
          },
          timeoutMs,
        );
      } catch (error) {
        throw new Error(`${String(error)}; it read ${last ?? 'nothing'}`, { cause: error });
      }
    },
    stop: async () => {
      for (const w of workers) await w.kill('SIGKILL');
      await serve.kill();
      redis.disconnect();
      await privateStack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
