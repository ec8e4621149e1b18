// The operator's own signals hold heals (issue 13, item 1), asked of a real Prometheus and a real
// Alertmanager: a PromQL blocker (`ALERTS{alertname="CephHealthWarning"}`, from a rule over a
// storage node's condition) holds the drain of its pool's nodes while it returns anything; an
// Alertmanager silence on a node's fault alert holds that node's heal before it starts; a
// blocker Prometheus cannot answer holds too (when unsure, do nothing). Each shows on the
// status API as the gate that holds the heal, with why.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool, poolLabel } from '../stack/helpers/pool.ts';
import { queryPrometheus } from '../stack/helpers/prometheus.ts';
import {
  createNamespace,
  createReplicaSetWithPdb,
  podsOnNode,
  waitPodsRunning,
} from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startPrivateMonitoring, type PrivateMonitoring } from './support/private-monitoring.ts';

const stack = inject('stack');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
const storagePool = uniqueName('sigs');
const blockedPool = uniqueName('sigb');
const silencedPool = uniqueName('sigq');
const unsurePool = uniqueName('sigu');
let kube: KubeClients;
let harness: Harness | undefined;
let monitoring: PrivateMonitoring | undefined;
let storageNode = '';

const CEPH_RULES = [
  {
    name: 'storage',
    rules: [
      {
        alert: 'CephHealthWarning',
        expr: 'kube_node_status_condition{condition="CephDegraded",status="true"} == 1',
        for: '0s',
        labels: { severity: 'warning' },
      },
    ],
  },
];

beforeAll(async () => {
  kube = adminClients(stack);
  storageNode = (await createNodePool(kube, { name: storagePool, size: 1 }))[0]!;
  for (const pool of [blockedPool, silencedPool, unsurePool]) {
    await createNodePool(kube, { name: pool, size: 3 });
  }
  monitoring = await startPrivateMonitoring({
    ksmUrl: stack.ksmUrl!,
    ruleGroups: CEPH_RULES,
    onlyNodes: `${storagePool}-[0-9]+`,
    alertmanagerConfig: { route: { receiver: 'nobody' }, receivers: [{ name: 'nobody' }] },
  });
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [
        { action: 'cordon', timeout: '30s' },
        { action: 'drain', timeout: '60s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_PROMETHEUS_URL: monitoring.prometheusUrl,
      NODEHEAL_BLOCKERS: JSON.stringify([
        {
          name: 'ceph-health',
          query: 'ALERTS{alertname="CephHealthWarning",alertstate="firing"}',
          pools: [blockedPool],
        },
        // Prometheus refuses this query (400): it cannot say, so the pool's heals hold.
        { name: 'broken', query: 'sum(', pools: [unsurePool] },
      ]),
      NODEHEAL_ALERTMANAGER_URL: monitoring.alertmanagerUrl,
      NODEHEAL_DEFER_MS: '1000',
      NODEHEAL_SAFETY: JSON.stringify({ nodeCooldownMs: 0 }),
    },
  });
});

afterAll(async () => {
  await harness?.stop();
  await monitoring?.stop();
  if (kube) {
    for (const pool of [storagePool, blockedPool, silencedPool, unsurePool]) {
      await deleteNodePool(kube, pool);
    }
  }
});

/** A replicated workload on the pool, and the node whose pods a drain would evict. */
async function workloadOn(pool: string): Promise<{ victim: string; namespace: string }> {
  const namespace = uniqueName('sig');
  await createNamespace(kube, namespace);
  await createReplicaSetWithPdb(kube, {
    namespace,
    name: 'app',
    replicas: 3,
    minAvailable: 1,
    spread: true,
    nodeSelector: { [poolLabel]: pool },
  });
  const pods = await waitPodsRunning(kube, namespace, 'app=app', 3);
  return { victim: pods[0]!.spec!.nodeName!, namespace };
}

async function heldAt(node: string, gate: string): Promise<HealRecord> {
  return await eventually(
    `the heal of ${node} held by ${gate}`,
    async () => {
      const [heal] = await harness!.healsFor(node);
      return heal?.status === 'running' && heal.gate === gate ? heal : undefined;
    },
    60_000,
  );
}

interface HealApi {
  status: string;
  gate: string | null;
  blocked: { gate: string; detail: string } | null;
}

async function healApi(id: string): Promise<HealApi> {
  return (await (await fetch(`${harness!.serveUrl}/heals/${id}`)).json()) as HealApi;
}

/** The note of a heal of `node` held before it started, if any. */
async function blockedNote(node: string) {
  for (const key of await harness!.redis.keys('nodeheal:blocked:*')) {
    const raw = await harness!.redis.get(key);
    const note = raw ? (JSON.parse(raw) as { node: string; healId: string; gate: string }) : null;
    if (note?.node === node) return note;
  }
  return undefined;
}

async function livePods(node: string): Promise<number> {
  return (await podsOnNode(kube, node)).filter((p) => !p.metadata?.deletionTimestamp).length;
}

describe("the operator's own signals hold heals", () => {
  it('a PromQL blocker that returns something holds the drain (cordon goes); the drain goes once it returns nothing', async () => {
    const { victim } = await workloadOn(blockedPool);
    await setNodeCondition(kube, storageNode, 'CephDegraded', 'True', 'Degraded');
    await eventually('CephHealthWarning firing in Prometheus', async () => {
      const r = await queryPrometheus(
        monitoring!.prometheusUrl,
        'ALERTS{alertname="CephHealthWarning",alertstate="firing"}',
      );
      return r.length > 0;
    });

    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    const held = await heldAt(victim, 'blocker');
    // The cordon is not disruptive: it went. The drain waits.
    expect(held.stepIndex).toBe(1);
    expect(held.stepState).toBe('pending');
    expect((await kube.core.readNode({ name: victim })).spec?.unschedulable).toBe(true);
    const api = await healApi(held.id);
    expect(api.blocked?.gate).toBe('blocker');
    expect(api.blocked?.detail).toMatch(
      /^blocker ceph-health: ALERTS\{alertname="CephHealthWarning",alertstate="firing"\} returns \{.*alertname="CephHealthWarning"/,
    );
    // Held, several defer periods long: nothing evicted.
    await sleep(5000);
    expect(await livePods(victim)).toBe(1);
    expect((await harness!.healsFor(victim))[0]?.stepIndex).toBe(1);

    // Ceph is healthy again: the blocker returns nothing, the drain goes.
    await setNodeCondition(kube, storageNode, 'CephDegraded', 'False', 'Healthy');
    await eventually(
      `${victim} drained`,
      async () =>
        (await livePods(victim)) === 0 && (await harness!.healsFor(victim))[0]?.gate === null,
      90_000,
    );
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'False');
    const done = await harness!.finishedHeal(victim, 90_000);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
    expect(done.transitions.some((t) => t.kind === 'held' && /ceph-health/.test(t.detail))).toBe(
      true,
    );
  }, 240_000);

  it('an Alertmanager silence on the fault alert holds the heal before it starts; expiring it lets the heal go', async () => {
    const { victim } = await workloadOn(silencedPool);
    const endsAt = new Date(Date.now() + 600_000).toISOString();
    const created = await fetch(`${monitoring!.alertmanagerUrl}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [
          { name: 'alertname', value: 'NodeKernelDeadlock', isRegex: false, isEqual: true },
          { name: 'node', value: victim, isRegex: false, isEqual: true },
        ],
        startsAt: new Date().toISOString(),
        endsAt,
        createdBy: 'oncall',
        comment: 'kernel upgrade in progress',
      }),
    });
    expect(created.status).toBe(200);
    const { silenceID } = (await created.json()) as { silenceID: string };
    // The worker shares one answer of Alertmanager's for 5 s between the heals that ask.
    await sleep(6000);

    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    // Held before it starts: no record yet, only the note of what holds it.
    const note = await eventually('the heal held by the silence', () => blockedNote(victim)).catch(
      async (error: unknown) => {
        // Say what happened instead: a heal that was not held, or a worker that failed.
        const heals = await harness!.healsFor(victim);
        const log = harness!.workers.map((w) => w.output().slice(-2000)).join('\n');
        throw new Error(
          `${String(error)}; heals: ${JSON.stringify(heals.map((h) => h.transitions))}; worker: ${log}`,
        );
      },
    );
    expect(note.gate).toBe('silence');
    const waiting = (await (await fetch(`${harness!.serveUrl}/heals/${note.healId}`)).json()) as {
      status: string;
      blocked: { gate: string; detail: string; retryAt: number };
    };
    expect(waiting.status).toBe('waiting');
    expect(waiting.blocked.detail).toContain(`silence ${silenceID} by oncall`);
    expect(waiting.blocked.detail).toContain('kernel upgrade in progress');
    await sleep(4000);
    expect(await harness!.healsFor(victim)).toEqual([]);
    expect((await kube.core.readNode({ name: victim })).spec?.unschedulable ?? false).toBe(false);

    // The maintenance is over: the silence is expired, and the heal goes (cordon, drain).
    const expired = await fetch(`${monitoring!.alertmanagerUrl}/api/v2/silence/${silenceID}`, {
      method: 'DELETE',
    });
    expect(expired.status).toBe(200);
    await eventually(`${victim} drained`, async () => (await livePods(victim)) === 0, 90_000);
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'False');
    const done = await harness!.finishedHeal(victim, 90_000);
    expect(done.status).toBe('healed');
  }, 240_000);

  it('a blocker Prometheus cannot answer holds the drain and says why', async () => {
    const { victim } = await workloadOn(unsurePool);
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    const held = await heldAt(victim, 'blocker');
    const api = await healApi(held.id);
    expect(api.blocked?.detail).toMatch(
      /^blocker broken: Prometheus could not be asked \(.* answered 400: .*\); holding until it can/,
    );
    await sleep(4000);
    expect(await livePods(victim)).toBe(1);
    // The fault clears by itself: the held heal sees it and ends without having drained.
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'False');
    const done = await harness!.finishedHeal(victim, 60_000);
    expect(done.status).toBe('healed');
    expect(done.stepIndex, JSON.stringify(done.transitions.map((t) => t.detail))).toBe(1);
    expect(await livePods(victim)).toBe(1);
  }, 180_000);
});
