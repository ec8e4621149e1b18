// Racing workers (issue 10 item 4): three workers run before the alerts arrive, several heals fall
// due at once; no action is done twice (HealStarted and NodeReplaced Events, evictions counted in
// the apiserver's audit log, replacement nodes) and the budgets hold (never two heals of one pool
// acting at once, never more than the cluster budget).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readAuditLog } from '../stack/audit.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { poolLabel, waitNodeReady } from '../stack/helpers/pool.ts';
import { podsOnNode, poolWithWorkload } from '../stack/helpers/workloads.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { NODEHEAL_NAMESPACE, nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;

beforeAll(async () => {
  kube = adminClients(stack);
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'node-not-ready': [{ action: 'replace', timeout: '120s' }] },
    workers: 3,
    workerEnv: {
      NODEHEAL_SAFETY: JSON.stringify({
        poolBudget: 1,
        clusterBudget: 2,
        nodeCooldownMs: 0,
        stormThreshold: 0.9,
      }),
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

describe('three workers, heals due at once', () => {
  it('do nothing twice and keep the pool and cluster budgets', async () => {
    const pools = await Promise.all(
      ['race-a', 'race-b'].map((p) =>
        poolWithWorkload(kube, p, { size: 4, replicas: 4, minAvailable: 0, spread: true }),
      ),
    );
    const victims = pools.flatMap((p) => p.nodes.slice(0, 2));
    const podsBefore = new Map<string, string[]>();
    for (const v of victims) {
      podsBefore.set(
        v,
        (await podsOnNode(kube, v)).map((p) => p.metadata!.name!),
      );
    }
    for (const v of victims) await stopHeartbeat(kube, v);
    for (const v of victims) await waitNodeReady(kube, v, 'Unknown', 90_000);
    // The same instant for all four: the heals fall due together.
    const startsAt = new Date(Date.now() - 5000);
    await Promise.all(
      victims.map((v) =>
        harness.fire(v, 'NodeUnreachable', { condition: 'Ready', status: 'unknown' }, startsAt),
      ),
    );
    const heals = [];
    for (const v of victims) heals.push(await harness.finishedHeal(v, 240_000));
    expect(heals.map((h) => h.status)).toEqual(['healed', 'healed', 'healed', 'healed']);

    for (const v of victims) {
      const events = await nodehealEvents(kube, v);
      const count = (reason: string) => events.filter((e) => e.reason === reason).length;
      expect(count('HealStarted'), `HealStarted on ${v}`).toBe(1);
      expect(count('NodeReplaced'), `NodeReplaced on ${v}`).toBe(1);
      expect((await harness.healsFor(v)).length, `heal records of ${v}`).toBe(1);
    }
    // One replacement per node: each pool is back at its size.
    for (const p of pools) {
      const nodes = await kube.core.listNode({ labelSelector: `${poolLabel}=${p.pool}` });
      expect(nodes.items).toHaveLength(4);
    }
    // Each pod of a victim was evicted exactly once (nodeheal's requests, from the audit log).
    const evictions = readAuditLog(stack.auditLog!).filter(
      (r) =>
        r.resource === 'pods/eviction' &&
        r.user === `system:serviceaccount:${NODEHEAL_NAMESPACE}:nodeheal` &&
        pools.some((p) => p.namespace === r.namespace),
    );
    for (const [victim, pods] of podsBefore) {
      for (const pod of pods) {
        const times = evictions.filter((e) => e.name === pod).length;
        expect(times, `evictions of ${pod} (on ${victim})`).toBe(1);
      }
    }
    // Budgets: the acting spans (first act to end) of two heals of one pool never overlap, and
    // never more than two heals act at once.
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
    // At most two act at any instant: the most that overlap is reached when one starts. (Counting
    // every span that overlaps another at some point would count a heal of pool A once with both
    // heals of pool B that ran one after the other beside it: three, with never more than two
    // at once.)
    const actingAt = (t: number) => spans.filter((b) => b.from <= t && t < b.to).length;
    for (const a of spans)
      expect(actingAt(a.from), `heals acting at ${a.from}`).toBeLessThanOrEqual(2);
  });
});
