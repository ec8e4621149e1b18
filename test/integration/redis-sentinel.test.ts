// Redis high availability (issue 16, item 4): two `serve` and two `worker` processes find Redis
// through three real Sentinels (a primary and two replicas, Debian's redis-server). A storm of
// alerts arrives, sent the way Alertmanager does (a 503 is retried), and the primary is
// SIGKILLed in the middle of it: a replica is promoted, serve answers 503 only until then, every
// alert answered 200 is in the new primary (a write acknowledged by the old primary but not yet
// replicated would be missing: counted, and required to be none), the persistent faults heal
// once each (heal records, Events, replacement nodes) and one safety budget holds across both
// workers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { HEAL_QUEUE, type HealJob } from '../../src/queue/index.ts';
import { QUEUE_PREFIX, keys, lockHolder, redisHealStore } from '../../src/store/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { poolLabel, waitNodeReady } from '../stack/helpers/pool.ts';
import { poolWithWorkload } from '../stack/helpers/workloads.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { killGroupNow } from '../stack/process.ts';
import { emptyStack, type Stack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import { shortDebounceCatalog } from './support/nodeheal-process.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startSentinelTopology, type SentinelTopology } from './support/redis-sentinel.ts';

const stack = inject('stack');
const token = 'sentinel-test-token';
const STORM_NODES = 300;
const ALERTS_PER_REQUEST = 5;
/** Requests sent before the primary is killed: the storm goes on through the failover. */
const REQUESTS_BEFORE_KILL = 20;

interface Role {
  url: string;
  child: ChildProcess;
  output: () => string;
}

interface Delivery {
  serve: string;
  alerts: WebhookAlert[];
  codes: number[];
  /** ms since the kill of each 503 (negative: before it). */
  unavailableAt: number[];
}

interface WebhookAlert {
  labels: Record<string, string>;
  startsAt: string;
}

async function spawnRole(role: 'serve' | 'worker', env: Record<string, string>): Promise<Role> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const listen = role === 'serve' ? 'NODEHEAL_LISTEN' : 'NODEHEAL_WORKER_LISTEN';
  const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), role], {
    env: { ...process.env, ...env, [listen]: `127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    `nodeheal ${role} on ${url}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`${role} exited: ${output.slice(-1000)}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    30_000,
  );
  return { url, child, output: () => output };
}

async function stopRole(role: Role): Promise<void> {
  if (role.child.exitCode !== null || role.child.signalCode !== null) return;
  const exited = new Promise((r) => role.child.once('exit', r));
  role.child.kill('SIGTERM');
  await exited;
}

/** The catalog: the storm's fault stays pending (10 min debounce), NotReady heals by replace. */
function catalog(): string {
  const doc = parseDocument(shortDebounceCatalog('1s'));
  const faults = (doc.toJS() as { faults: { name: string }[] }).faults;
  const index = (name: string) => faults.findIndex((f) => f.name === name);
  doc.setIn(['faults', index('kernel-deadlock'), 'debounce'], '10m');
  doc.setIn(
    ['faults', index('node-not-ready'), 'ladder'],
    doc.createNode([{ action: 'replace', timeout: '120s' }]),
  );
  return doc.toString();
}

/** Posts one Alertmanager v4 webhook, again after each 503 as Alertmanager does, until a 200. */
async function deliver(delivery: Delivery, killedAt: () => number | undefined): Promise<void> {
  const body = JSON.stringify({
    version: '4',
    groupKey: `{}:{storm="${delivery.alerts[0]!.labels.node}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'nodeheal',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test',
    alerts: delivery.alerts.map((a) => ({
      status: 'firing',
      labels: a.labels,
      annotations: {},
      startsAt: a.startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.test',
      fingerprint: `${a.labels.alertname}-${a.labels.node}`,
    })),
  });
  const giveUpAt = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${delivery.serve}/webhook/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    delivery.codes.push(res.status);
    if (res.status === 200) return;
    if (res.status !== 503) throw new Error(`webhook answered ${res.status}`);
    if (Date.now() > giveUpAt) throw new Error(`${delivery.serve} still answers 503 after 60 s`);
    delivery.unavailableAt.push(Date.now() - (killedAt() ?? Date.now()));
    await sleep(100);
  }
}

describe('Redis behind Sentinel: the primary dies during an alert storm', () => {
  let privateStack: Stack;
  let topology: SentinelTopology;
  let kube: KubeClients;
  let client: Redis;
  let dir: string;
  const roles: Role[] = [];

  beforeAll(async () => {
    privateStack = emptyStack();
    topology = await startSentinelTopology(privateStack, {
      replicas: 2,
      sentinels: 3,
      downAfterMs: 1000,
    });
    client = topology.client();
    client.on('error', () => undefined);
    kube = adminClients(stack);
    dir = mkdtempSync(join(tmpdir(), 'nodeheal-sentinel-'));
    const rules = join(dir, 'remedies.yaml');
    writeFileSync(rules, catalog());
    const common = {
      ...topology.env,
      NODEHEAL_RULES: rules,
      KUBECONFIG: (await nodehealKubeconfig(kube, stack)).path,
      NODEHEAL_LOG_LEVEL: 'info',
    };
    for (let i = 0; i < 2; i++) {
      roles.push(await spawnRole('serve', { ...common, NODEHEAL_WEBHOOK_TOKEN: token }));
    }
    for (let i = 0; i < 2; i++) {
      roles.push(
        await spawnRole('worker', {
          ...common,
          NODEHEAL_POOL_LABELS: poolLabel,
          NODEHEAL_PROVIDERS: JSON.stringify([
            { selector: { 'node-role.kubernetes.io/worker': '' }, provider: 'kwok' },
          ]),
          NODEHEAL_VERIFY_POLL_MS: '300',
          NODEHEAL_DEFER_MS: '1000',
          NODEHEAL_WORKER_LOCK_MS: '4000',
          NODEHEAL_WORKER_STALLED_MS: '1000',
          NODEHEAL_DRAIN_SKIP_WAIT_MS: '2000',
          NODEHEAL_DRAIN_UNMANAGED: 'evict',
          // One heal per pool and two in the cluster, across both workers; two of a pool's
          // four nodes down is no storm here.
          NODEHEAL_SAFETY: JSON.stringify({
            poolBudget: 1,
            clusterBudget: 2,
            nodeCooldownMs: 0,
            stormThreshold: 0.9,
          }),
        }),
      );
    }
  });

  afterAll(async () => {
    for (const role of roles) await stopRole(role);
    client?.disconnect();
    await privateStack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails over, loses no acknowledged alert, heals each fault once within one budget', async () => {
    onTestFailed(() => {
      for (const role of roles) console.log(`--- ${role.url}\n${role.output().slice(-3000)}`);
    });
    const began = Date.now();
    const phase = (what: string) => console.log(`${what} after ${Date.now() - began} ms`);
    const pools = await Promise.all(
      ['sen-a', 'sen-b'].map((p) =>
        poolWithWorkload(kube, p, { size: 4, replicas: 4, minAvailable: 0, spread: true }),
      ),
    );
    const victims = pools.flatMap((p) => p.nodes.slice(0, 2));
    for (const v of victims) await stopHeartbeat(kube, v);
    for (const v of victims) await waitNodeReady(kube, v, 'Unknown', 90_000);
    phase('pools made, victims NotReady');

    // The storm: STORM_NODES kernel deadlocks (pending for 10 minutes), five alerts a request,
    // to both serves in turn; the persistent NotReady faults of the victims come after the kill.
    const startsAt = new Date(Date.now() - 5000).toISOString();
    const prefix = uniqueName('storm');
    const stormAlerts: WebhookAlert[] = Array.from({ length: STORM_NODES }, (_, i) => ({
      labels: { alertname: 'NodeKernelDeadlock', node: `${prefix}-${i}`, severity: 'critical' },
      startsAt,
    }));
    const victimAlerts: WebhookAlert[] = victims.map((node) => ({
      labels: { alertname: 'NodeUnreachable', node, condition: 'Ready', status: 'unknown' },
      startsAt,
    }));
    const batches: WebhookAlert[][] = [];
    for (let i = 0; i < stormAlerts.length; i += ALERTS_PER_REQUEST) {
      batches.push(stormAlerts.slice(i, i + ALERTS_PER_REQUEST));
    }
    batches.splice(REQUESTS_BEFORE_KILL + 5, 0, victimAlerts.slice(0, 2));
    batches.push(victimAlerts.slice(2));
    const serveUrls = roles.slice(0, 2).map((r) => r.url);
    const deliveries: Delivery[] = batches.map((alerts, i) => ({
      serve: serveUrls[i % 2]!,
      alerts,
      codes: [],
      unavailableAt: [],
    }));

    const oldPrimary = await topology.primaryPort();
    const failover = await topology.watchFailover();
    let killedAt: number | undefined;
    const inFlight: Promise<void>[] = [];
    for (const [i, delivery] of deliveries.entries()) {
      if (i === REQUESTS_BEFORE_KILL) {
        killGroupNow(topology.nodes.get(oldPrimary)!.pid);
        killedAt = Date.now();
      }
      inFlight.push(deliver(delivery, () => killedAt));
      await sleep(50);
    }
    await Promise.all(inFlight);
    phase('storm answered');
    const allAnsweredAt = Date.now() - killedAt!;

    const newPrimary = await eventually(
      'a majority of Sentinels to name a new primary',
      async () => {
        const port = await topology.primaryPort();
        return port !== oldPrimary ? port : undefined;
      },
      30_000,
    );
    expect(topology.nodes.has(newPrimary)).toBe(true);
    const promotedAfter = (await Promise.race([failover.promoted, sleep(5000)])) ?? NaN;
    const promotedAfterKill = promotedAfter - killedAt!;
    failover.close();

    // Every request was answered 200 in the end, and only 503 before that (never a 500).
    const codes = deliveries.flatMap((d) => d.codes);
    expect(codes.filter((c) => c !== 200 && c !== 503)).toEqual([]);
    expect(deliveries.every((d) => d.codes.at(-1) === 200)).toBe(true);
    const unavailable = deliveries.flatMap((d) => d.unavailableAt);

    // Every acknowledged alert is in the new primary: one delayed job per storm (node, fault),
    // and the alert log has each alert.
    const queue = new Queue<HealJob>(HEAL_QUEUE, { connection: client, prefix: QUEUE_PREFIX });
    try {
      const jobs = await queue.getJobs(['delayed', 'waiting', 'prioritized'], 0, -1);
      const perKey = new Map<string, number>();
      for (const job of jobs) perKey.set(job.data.key, (perKey.get(job.data.key) ?? 0) + 1);
      const stormKeys = stormAlerts.map((a) => `heal:${a.labels.node}:kernel-deadlock`);
      const lost = stormKeys.filter((k) => !perKey.has(k));
      const doubled = stormKeys.filter((k) => (perKey.get(k) ?? 0) > 1);
      const log = await client.xrange('nodeheal:alerts', '-', '+');
      const logged = new Set(
        log.map(([, fields]) => (JSON.parse(fields[1] ?? '{}') as { node?: string }).node),
      );
      const notLogged = [...stormAlerts, ...victimAlerts].filter((a) => !logged.has(a.labels.node));
      console.log(
        `sentinel failover: ${deliveries.length} requests, ${codes.length} answers, ` +
          `${unavailable.length} x 503 from ${Math.min(...unavailable)} to ` +
          `${Math.max(...unavailable)} ms after the kill; new primary announced ${promotedAfterKill} ` +
          `ms after it; all answered 200 ${allAnsweredAt} ms after it; ` +
          `acknowledged but lost: ${lost.length} jobs, ${notLogged.length} log entries`,
      );
      expect(unavailable.length, 'the kill made serve answer 503 for a while').toBeGreaterThan(0);
      expect(lost, 'storm alerts acknowledged but lost in the failover').toEqual([]);
      expect(doubled, 'storm alerts with two jobs').toEqual([]);
      expect(notLogged.map((a) => a.labels.node)).toEqual([]);
    } finally {
      await queue.close();
    }

    // The persistent faults heal, each once, across the failover.
    phase('acknowledged alerts checked');
    const store = redisHealStore(client);
    const heals: HealRecord[] = [];
    for (const v of victims) {
      heals.push(
        await eventually(
          `a finished heal for ${v}`,
          async () => {
            const done = (await store.list({ node: v })).find((h) => h.status !== 'running');
            // Ended once the worker let go of the node, its last act after the Events.
            return done && (await lockHolder(client, v)) !== done.id ? done : undefined;
          },
          180_000,
          500,
        ),
      );
    }
    phase('heals finished');
    expect(heals.map((h) => h.status)).toEqual(['healed', 'healed', 'healed', 'healed']);
    // For sizing (docs/reliability.md): what one finished heal's record takes in Redis.
    const recordBytes = await Promise.all(
      heals.map(async (h) => (await client.memory('USAGE', keys.record(h.id))) ?? 0),
    );
    console.log(`heal record sizes in Redis (bytes): ${recordBytes.join(', ')}`);
    for (const v of victims) {
      const events = await nodehealEvents(kube, v);
      const count = (reason: string) => events.filter((e) => e.reason === reason).length;
      expect(count('HealStarted'), `HealStarted on ${v}`).toBe(1);
      expect(count('NodeReplaced'), `NodeReplaced on ${v}`).toBe(1);
      expect(await store.list({ node: v }), `heal records of ${v}`).toHaveLength(1);
    }
    // One replacement per victim (the kwok provider's calls): each pool is back at its size.
    for (const p of pools) {
      const nodes = await kube.core.listNode({ labelSelector: `${poolLabel}=${p.pool}` });
      expect(nodes.items).toHaveLength(4);
    }
    // One budget across both workers: never two heals of a pool acting at once, never more than
    // two in the cluster (acting span: the started transition to the end).
    const spans = heals.map((h) => ({
      pool: h.pool,
      from: h.transitions.find((t) => t.kind === 'started')!.at,
      to: h.endedAt!,
    }));
    for (const a of spans) {
      for (const b of spans) {
        if (a === b || a.pool !== b.pool) continue;
        expect(a.to <= b.from || b.to <= a.from, `two heals of ${a.pool} at once`).toBe(true);
      }
    }
    const actingAt = (t: number) => spans.filter((b) => b.from <= t && t < b.to).length;
    for (const a of spans) expect(actingAt(a.from)).toBeLessThanOrEqual(2);
    // Both workers took part or stood by: neither died in the failover.
    for (const role of roles) expect(role.child.exitCode, role.output().slice(-500)).toBeNull();
  }, 240_000);
});
