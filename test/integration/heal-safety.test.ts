// Safety: a storm stops new heals and they resume after recovery; the pool budget holds heals to
// one at a time; opt-out and control-plane nodes are left alone (the heal is skipped: one
// HealSkipped Event, nothing else written on the node); dry-run mutates nothing.
import { nodehealEvents } from '../stack/helpers/events.ts';
import { Watch, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, mergePatch, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel } from '../stack/helpers/pool.ts';
import { sleep } from '../stack/wait.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';

const stack = inject('stack');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
let kube: KubeClients;
let kubeconfig: string;

beforeAll(async () => {
  kube = adminClients(stack);
  kubeconfig = (await nodehealKubeconfig(kube, stack)).path;
});

async function poolNodes(pool: string): Promise<V1Node[]> {
  return (await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` })).items;
}

/**
 * What an operator would compare: spec and metadata a heal could change. Keys Kubernetes itself
 * maintains (beta OS/arch labels, the node TTL annotation, its own taints) are left out.
 */
function mutableView(node: V1Node) {
  const own = (record: Record<string, string> | undefined) =>
    Object.fromEntries(
      Object.entries(record ?? {}).filter(
        ([k]) => !/^(beta\.kubernetes\.io\/|node\.alpha\.kubernetes\.io\/)/.test(k),
      ),
    );
  return {
    unschedulable: node.spec?.unschedulable ?? false,
    taints: (node.spec?.taints ?? []).filter((t) => !t.key.startsWith('node.kubernetes.io/')),
    labels: own(node.metadata?.labels),
    annotations: own(node.metadata?.annotations),
  };
}

describe('storm and budgets', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      kubeconfig,
      ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '60s' }] },
    });
  });
  afterAll(async () => harness?.stop());

  it('half of a 10-node pool faulty: nothing beyond the budget acts, storm is reported, healing resumes after recovery', async () => {
    const pool = uniqueName('st');
    const nodes = await createNodePool(kube, { name: pool, size: 10 });
    const faulty = nodes.slice(0, 5);
    for (const n of faulty) await setNodeCondition(kube, n, 'KernelDeadlock', 'True');
    for (const n of faulty) await harness.fire(n, 'NodeKernelDeadlock', deadlock);

    await eventually(
      'the storm to be reported',
      async () => (await harness.workerMetric('nodeheal_storm_active')) === 1,
      30_000,
    );
    await eventually(
      'heals blocked by the storm',
      async () =>
        (await harness.workerMetric('nodeheal_safety_blocked_total', { gate: 'storm' })) >= 4,
      30_000,
    );
    await sleep(3000);
    // Nothing was cordoned, drained or replaced while the storm lasts; every heal waits.
    const during = await poolNodes(pool);
    expect(during).toHaveLength(10);
    expect(during.filter((n) => n.spec?.unschedulable)).toHaveLength(0);
    for (const n of faulty) expect(await harness.healsFor(n)).toHaveLength(0);
    // Each waiting heal says which gate holds it and why, on the status API. (The worker counts a
    // refusal before it writes its note: wait for the notes, not only the count.)
    const ids = await eventually(
      'the notes of the heals held by the storm',
      async () => {
        const found = await harness.redis.keys('nodeheal:blocked:*');
        return found.length >= 4 ? found : undefined;
      },
      30_000,
    );
    const waiting = (await (
      await fetch(`${harness.serveUrl}/heals/${ids[0]!.split(':').pop()}`)
    ).json()) as {
      status: string;
      blocked: { gate: string; detail: string };
    };
    expect(waiting.status).toBe('waiting');
    expect(waiting.blocked.gate).toBe('storm');

    // Four recover (their alerts resolve); one fault remains: 10 %, below the threshold.
    const stays = faulty[4]!;
    for (const n of faulty.slice(0, 4)) {
      await setNodeCondition(kube, n, 'KernelDeadlock', 'False');
      await harness.resolve(n, 'NodeKernelDeadlock', deadlock);
    }
    // After the storm cooldown the remaining heal goes ahead and replaces its node.
    const heal = await harness.finishedHeal(stays, 90_000);
    expect(heal.status, JSON.stringify(heal.transitions.map((t) => t.detail))).toBe('healed');
    expect(await harness.workerMetric('nodeheal_storm_active')).toBe(0);
    for (const n of faulty.slice(0, 4)) expect(await harness.healsFor(n)).toHaveLength(0);
    const after = await poolNodes(pool);
    expect(after.map((n) => n.metadata!.name)).not.toContain(stays);
  });

  it('two faulty nodes in a pool (no storm): the pool budget heals them one at a time', async () => {
    const pool = uniqueName('bg');
    const nodes = await createNodePool(kube, { name: pool, size: 10 });
    const [a, b] = nodes;
    for (const n of [a!, b!]) {
      await setNodeCondition(kube, n, 'KernelDeadlock', 'True');
      await harness.fire(n, 'NodeKernelDeadlock', deadlock);
    }
    const first = await harness.finishedHeal(a!, 90_000);
    const second = await harness.finishedHeal(b!, 90_000);
    expect(first.status, JSON.stringify(first.transitions.map((t) => t.detail))).toBe('healed');
    expect(second.status, JSON.stringify(second.transitions.map((t) => t.detail))).toBe('healed');
    const [earlier, later] = first.createdAt < second.createdAt ? [first, second] : [second, first];
    expect(later.createdAt).toBeGreaterThanOrEqual(earlier.endedAt!);
    expect(
      await harness.workerMetric('nodeheal_safety_blocked_total', { gate: 'pool-budget' }),
    ).toBeGreaterThanOrEqual(1);
  });
});

/** Every version of `node` the apiserver has from now on (a watch, not a poll: none is missed). */
async function watchNode(node: string): Promise<{ versions: V1Node[]; stop: () => void }> {
  const versions: V1Node[] = [];
  const request = await new Watch(kube.kc).watch(
    '/api/v1/nodes',
    { fieldSelector: `metadata.name=${node}` },
    (_type: string, object: V1Node) => versions.push(object),
    () => undefined,
  );
  return { versions, stop: () => request.abort() };
}

describe('nodes nodeheal must leave alone', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      kubeconfig,
      ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '30s' }] },
    });
  });
  afterAll(async () => harness?.stop());

  it.each([
    ['opted out with nodeheal.io/exclude=true', { 'nodeheal.io/exclude': 'true' }, 'opt-out'],
    ['a control-plane node', { 'node-role.kubernetes.io/control-plane': '' }, 'control-plane'],
  ])('%s is not touched: the heal is skipped', async (_label, labels, gate) => {
    const [node] = await createNodePool(kube, { name: uniqueName('lv'), size: 3 });
    await kube.core.patchNode({ name: node!, body: { metadata: { labels } } }, mergePatch);
    await setNodeCondition(kube, node!, 'KernelDeadlock', 'True');
    const before = mutableView(await kube.core.readNode({ name: node! }));
    const watched = await watchNode(node!);
    let heal;
    try {
      await harness.fire(node!, 'NodeKernelDeadlock', deadlock);
      heal = await harness.finishedHeal(node!, 60_000);
      // Anything written late would show up in the watch too.
      await sleep(2000);
    } finally {
      watched.stop();
    }
    expect(heal.status, JSON.stringify(heal.transitions)).toBe('skipped');
    expect(heal.gate).toBe(gate);
    expect(heal.outcomeReason).toContain(`safety gate ${gate}`);
    expect(heal.outcomeReason).toContain('nothing was done on the node');
    expect(heal.transitions.map((t) => [t.kind, t.to])).toEqual([['skipped', 'skipped']]);

    // Never the heal annotation, never a cordon, in any version of the node during the heal.
    expect(watched.versions.length).toBeGreaterThan(0);
    for (const version of watched.versions) {
      const annotations = version.metadata?.annotations ?? {};
      expect(annotations['nodeheal.io/heal']).toBeUndefined();
      expect(annotations['nodeheal.io/cordoned-by']).toBeUndefined();
      expect(version.spec?.unschedulable ?? false).toBe(false);
    }
    expect(mutableView(await kube.core.readNode({ name: node! }))).toEqual(before);

    // Exactly one Event: HealSkipped, naming the gate; no HealStarted, no HealAbandoned.
    const events = await nodehealEvents(kube, node!);
    expect(events.map((e) => [e.reason, e.count ?? 1])).toEqual([['HealSkipped', 1]]);
    expect(events[0]?.type).toBe('Normal');
    expect(events[0]?.message).toContain(heal.id);
    expect(events[0]?.message).toContain(`safety gate ${gate}`);

    // The status API shows it skipped, with its gate.
    const api = (await (await fetch(`${harness.serveUrl}/heals/${heal.id}`)).json()) as {
      status: string;
      gate: string;
      steps: { state: string }[];
    };
    expect(api.status).toBe('skipped');
    expect(api.gate).toBe(gate);
    expect(api.steps[0]?.state).toBe('skipped');
    const list = (await (
      await fetch(`${harness.serveUrl}/heals?node=${node}&status=skipped`)
    ).json()) as { heals: { id: string; status: string }[] };
    expect(list.heals.map((h) => [h.id, h.status])).toEqual([[heal.id, 'skipped']]);

    expect(
      await harness.workerMetric('nodeheal_safety_blocked_total', { gate }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await harness.workerMetric('nodeheal_heals_finished_total', { outcome: 'skipped' }),
    ).toBeGreaterThanOrEqual(1);
    // Skipped heals never started: nothing in this harness ever did.
    expect(await harness.workerMetric('nodeheal_heals_started_total')).toBe(0);
  });
});

describe('dry-run', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      kubeconfig,
      ladders: {
        'kernel-deadlock': [
          { action: 'restart-kubelet', timeout: '2s' },
          { action: 'replace', timeout: '5s' },
        ],
      },
      workerEnv: { NODEHEAL_DRY_RUN: 'true' },
    });
  });
  afterAll(async () => harness?.stop());

  it('records every decision and mutates nothing', async () => {
    const pool = uniqueName('dr');
    const [node] = await createNodePool(kube, { name: pool, size: 3 });
    await setNodeCondition(kube, node!, 'KernelDeadlock', 'True');
    const before = mutableView(await kube.core.readNode({ name: node! }));
    await harness.fire(node!, 'NodeKernelDeadlock', deadlock);
    const heal = await harness.finishedHeal(node!, 60_000);
    expect(heal.dryRun).toBe(true);
    const acted = heal.transitions.filter((t) => t.to === 'acting').map((t) => t.action);
    expect(acted).toEqual(['restart-kubelet', 'replace']);
    // The node and its pool are exactly as before: no cordon, no annotation, no replacement, no events.
    expect(mutableView(await kube.core.readNode({ name: node! }))).toEqual(before);
    expect(await poolNodes(pool)).toHaveLength(3);
    expect((await nodehealEvents(kube, node!)).map((e) => `${e.reason}: ${e.message}`)).toEqual([]);
  });
});
