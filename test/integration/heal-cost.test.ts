// What a heal will disrupt, worked out before its first disruptive step, against the real stack:
// a node carrying a replicated ReplicaSet behind a PDB, a single-replica Deployment, a
// single-replica StatefulSet, a bare pod with an emptyDir volume and a DaemonSet's pod. The cost
// on the heal record, its status page, its HealStarted and NodeDrained Events and
// nodeheal_pods_evicted_total{kind} are compared with the pods this test put on the node (read
// back from the API, never recomputed with nodeheal's code).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel } from '../stack/helpers/pool.ts';
import {
  createBarePod,
  createDaemonSet,
  createNamespace,
  createReplicaSetWithPdb,
  podsOnNode,
  waitPodsRunning,
} from '../stack/helpers/workloads.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;

beforeAll(async () => {
  kube = adminClients(stack);
  const identity = await nodehealKubeconfig(kube, stack);
  harness = await startHarness({
    kubeconfig: identity.path,
    ladders: {
      'kernel-deadlock': [
        { action: 'drain', timeout: '120s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

const image = 'registry.k8s.io/pause:3.10';

/** A single-replica Deployment and StatefulSet pinned to `node`. */
async function singleReplicas(namespace: string, node: string): Promise<void> {
  const template = (app: string) => ({
    metadata: { labels: { app } },
    spec: {
      containers: [{ name: 'app', image }],
      terminationGracePeriodSeconds: 1,
      nodeSelector: { 'kubernetes.io/hostname': node },
    },
  });
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'solo' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'solo' } }, template: template('solo') },
    },
  });
  await kube.apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: 'store' },
      spec: {
        replicas: 1,
        serviceName: 'store',
        selector: { matchLabels: { app: 'store' } },
        template: template('store'),
      },
    },
  });
}

describe('the cost of a heal', () => {
  it('is worked out before the drain from the pods on the node, and told everywhere', async () => {
    const pool = uniqueName('cost');
    const nodes = await createNodePool(kube, { name: pool, size: 2 });
    const victim = nodes[0]!;
    const namespace = uniqueName('cost');
    await createNamespace(kube, namespace);
    // One replica per node, behind a PDB that lets one go.
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'web',
      replicas: 2,
      minAvailable: 1,
      spread: true,
      nodeSelector: { [poolLabel]: pool },
    });
    await singleReplicas(namespace, victim);
    await createBarePod(kube, { namespace, name: 'scratch', node: victim, emptyDir: true });
    await createDaemonSet(kube, namespace, 'agent', { [poolLabel]: pool });
    await waitPodsRunning(kube, namespace, 'app=web', 2);
    await waitPodsRunning(kube, namespace, 'app in (solo,store,scratch)', 3);
    await waitPodsRunning(kube, namespace, 'app=agent', 2);
    await eventually('PDB web allows one disruption', async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name: 'web', namespace });
      return pdb.status?.disruptionsAllowed === 1;
    });

    // What this test put on the victim, by the name of its app.
    const before = (await podsOnNode(kube, victim)).filter(
      (p) => p.metadata?.namespace === namespace,
    );
    const byApp = new Map(before.map((p) => [p.metadata!.labels!.app!, p.metadata!.name!]));
    expect([...byApp.keys()].sort()).toEqual(['agent', 'scratch', 'solo', 'store', 'web']);
    const key = (app: string) => `${namespace}/${byApp.get(app)}`;

    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness.fire(victim, 'NodeKernelDeadlock', {
      condition: 'KernelDeadlock',
      status: 'true',
    });
    const done = await harness.finishedHeal(victim, 120_000);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');

    const cost = done.cost;
    expect(cost).not.toBeNull();
    // The cost was worked out before the heal acted.
    expect(cost!.at).toBeLessThanOrEqual(done.transitions[0]!.at);
    const ours = cost!.pods.filter((p) => p.pod.startsWith(`${namespace}/`));
    expect(ours.sort((a, b) => a.pod.localeCompare(b.pod))).toEqual(
      [
        {
          pod: key('agent'),
          kind: 'daemonset',
          owner: 'DaemonSet/agent',
          replicas: null,
          localData: [],
          pdbs: [],
        },
        {
          pod: key('scratch'),
          kind: 'unmanaged',
          owner: null,
          replicas: null,
          localData: ['emptyDir'],
          pdbs: [],
        },
        {
          pod: key('solo'),
          kind: 'single-replica',
          owner: 'Deployment/solo',
          replicas: 1,
          localData: [],
          pdbs: [],
        },
        {
          pod: key('store'),
          kind: 'single-replica',
          owner: 'StatefulSet/store',
          replicas: 1,
          localData: [],
          pdbs: [],
        },
        {
          pod: key('web'),
          kind: 'replicated',
          owner: 'ReplicaSet/web',
          replicas: 2,
          localData: [],
          pdbs: [`${namespace}/web`],
        },
      ].sort((a, b) => a.pod.localeCompare(b.pod)),
    );
    expect(cost!.pdbs).toEqual([{ name: `${namespace}/web`, disruptionsAllowed: 1, pods: 1 }]);
    expect(cost!.unreadPdbs).toEqual([]);

    // The Events say it, and the status page shows it.
    const events = await nodehealEvents(kube, victim);
    const summary =
      'evicts 4 pod(s): 1 replicated, 2 single replica (downtime), 1 unmanaged (not recreated), ' +
      '1 with local data (lost); 1 left alone (DaemonSet, mirror); PDB headroom: ' +
      `${namespace}/web 1`;
    const started = events.find((e) => e.reason === 'HealStarted');
    expect(started?.message).toContain(summary);
    const drained = events.find((e) => e.reason === 'NodeDrained');
    expect(drained?.message).toContain(summary);
    const page = await (
      await fetch(`${harness.serveUrl}/heals/${done.id}`, { headers: { accept: 'text/html' } })
    ).text();
    expect(page).toContain('What it disrupts');
    expect(page).toContain(key('solo'));
    expect(page).toContain('single replica: downtime');
    const api = (await (await fetch(`${harness.serveUrl}/heals/${done.id}`)).json()) as {
      cost: unknown;
    };
    expect(api.cost).toEqual(cost);

    // The pods evicted, by kind.
    expect(await harness.workerMetric('nodeheal_pods_evicted_total', { kind: 'replicated' })).toBe(
      1,
    );
    expect(
      await harness.workerMetric('nodeheal_pods_evicted_total', { kind: 'single-replica' }),
    ).toBe(2);
    expect(await harness.workerMetric('nodeheal_pods_evicted_total', { kind: 'unmanaged' })).toBe(
      1,
    );
    expect(await harness.workerMetric('nodeheal_pods_evicted_total', { kind: 'local-data' })).toBe(
      1,
    );
  });
});
