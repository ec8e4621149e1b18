// KubeDrainer against the real stack: PDBs through the Eviction API, what is skipped, the emptyDir
// and unmanaged policies, the timeout (and force), an unreachable node, abort, and pods recreated
// with the same name.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_DRAIN_OPTIONS, KubeDrainer, type DrainProgress } from '../../src/actions/drain.ts';
import type { DrainOptions } from '../../src/actions/interfaces.ts';
import { KubeNodeOps } from '../../src/actions/kube-node-ops.ts';
import { PermanentError } from '../../src/kube/errors.ts';
import { makePodsUnevictable, stopHeartbeat } from '../stack/helpers/faults.ts';
import {
  adminClients,
  mergePatch,
  tokenClients,
  uniqueName,
  type KubeClients,
} from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel, waitNodeReady } from '../stack/helpers/pool.ts';
import {
  createBarePod,
  createDaemonSet,
  createNamespace,
  createReplicaSetWithPdb,
  isRunningAndReady,
  podsOnNode,
  waitPodsRunning,
} from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let ops: KubeNodeOps;

/** nodeheal's own identity (the chart's ClusterRole), and the one rendered with force drain. */
let asNodeheal: KubeConfig;
let asForceDrain: KubeConfig;

beforeAll(async () => {
  kube = adminClients(stack);
  asNodeheal = (await nodehealKubeconfig(kube, stack)).kc;
  asForceDrain = (await nodehealKubeconfig(kube, stack, { forceDrain: true })).kc;
  ops = new KubeNodeOps(asNodeheal);
});

function options(overrides: Partial<DrainOptions> = {}): DrainOptions {
  return { ...DEFAULT_DRAIN_OPTIONS, timeoutMs: 60_000, ...overrides };
}

function drainer(events: DrainProgress[] = [], kc: KubeConfig = asNodeheal): KubeDrainer {
  return new KubeDrainer(kc, { onProgress: (e) => events.push(e) });
}

async function setUnschedulable(node: string, value: boolean): Promise<void> {
  await kube.core.patchNode({ name: node, body: { spec: { unschedulable: value } } }, mergePatch);
}

function key(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

async function livePodsOn(node: string, namespace: string): Promise<V1Pod[]> {
  return (await podsOnNode(kube, node)).filter(
    (p) => p.metadata?.namespace === namespace && !p.metadata.deletionTimestamp,
  );
}

/** A pool of `size` nodes and a namespace; only the first node is schedulable until released. */
async function setup(prefix: string, size: number) {
  const pool = uniqueName(prefix);
  const nodes = await createNodePool(kube, { name: pool, size });
  for (const other of nodes.slice(1)) await setUnschedulable(other, true);
  const namespace = uniqueName(`${prefix}-ns`);
  await createNamespace(kube, namespace);
  const release = async () => {
    for (const other of nodes.slice(1)) await setUnschedulable(other, false);
  };
  return { pool, nodes, target: nodes[0]!, namespace, release };
}

describe('KubeDrainer', () => {
  it('drains ReplicaSet pods behind a PDB: 429s wait until replacements are Ready elsewhere, the PDB always holds', async () => {
    const { pool, target, namespace, release } = await setup('pdb', 3);
    // All 3 replicas start on the target and the other nodes open only once the drain runs: the
    // PDB (minAvailable 2) lets one eviction through and refuses the others (429) until the
    // ReplicaSet's replacements are Ready on the other nodes.
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'web',
      replicas: 3,
      minAvailable: 2,
      nodeSelector: { [poolLabel]: pool },
    });
    const before = await waitPodsRunning(kube, namespace, 'app=web', 3);
    expect(before.every((p) => p.spec?.nodeName === target)).toBe(true);
    expect(await ops.cordon(target)).toBe('cordoned');

    let minReady = 3;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=web' }))
          .items;
        const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && isRunningAndReady(p));
        minReady = Math.min(minReady, ready.length);
        await sleep(50);
      }
    })();
    const events: DrainProgress[] = [];
    const drain = drainer(events).drain(target, options({ parallelism: 3 }));
    // No other node takes pods yet: the first eviction passes, the others are refused. The
    // answers come in any order: wait for both kinds, then a while for a wrong second pass.
    await eventually('a refused eviction', () => events.some((e) => e.kind === 'eviction-refused'));
    await eventually('an eviction through', () => events.some((e) => e.kind === 'evicted'));
    await sleep(1000);
    expect(events.filter((e) => e.kind === 'evicted')).toHaveLength(1);
    await release();
    const result = await drain;
    sampling = false;
    await sampler;

    expect(result).toMatchObject({ outcome: 'drained', evicted: 3, skipped: 0 });
    const refused = events.filter((e) => e.kind === 'eviction-refused');
    expect(refused.every((e) => e.kind === 'eviction-refused' && e.status === 429)).toBe(true);
    expect(minReady).toBeGreaterThanOrEqual(2);
    expect(await livePodsOn(target, namespace)).toEqual([]);
    const after = await waitPodsRunning(kube, namespace, 'app=web', 3);
    expect(after.every((p) => p.spec?.nodeName !== target)).toBe(true);
  });

  it('skips DaemonSet, mirror and terminated pods, and evicts the rest', async () => {
    const { pool, target, namespace, release } = await setup('skip', 2);
    await createDaemonSet(kube, namespace, 'agent', { [poolLabel]: pool });
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'app',
      replicas: 2,
      nodeSelector: { [poolLabel]: pool },
    });
    await waitPodsRunning(kube, namespace, 'app=app', 2);
    // A static pod's mirror, as the kubelet would post it.
    await kube.core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: `static-${target}`,
          annotations: { 'kubernetes.io/config.mirror': 'hash' },
        },
        spec: {
          nodeName: target,
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
        },
      },
    });
    // A bare pod that already finished: nothing to evict, even with unmanaged: block.
    await createBarePod(kube, { namespace, name: 'done', node: target });
    await waitPodsRunning(kube, namespace, 'app=done', 1);
    await kube.core.patchNamespacedPodStatus(
      { name: 'done', namespace, body: { status: { phase: 'Succeeded' } } },
      mergePatch,
    );
    await eventually('DaemonSet pods on both nodes', async () => {
      const ds = await kube.apps.readNamespacedDaemonSet({ name: 'agent', namespace });
      return ds.status?.numberReady === 2;
    });
    await release();
    await ops.cordon(target);

    const result = await drainer().drain(target, options({ unmanaged: 'block' }));

    expect(result).toMatchObject({ outcome: 'drained', evicted: 2, skipped: 3 });
    const left = (await livePodsOn(target, namespace)).map((p) => p.metadata?.name).sort();
    expect(left).toHaveLength(3);
    expect(left).toContain('done');
    expect(left).toContain(`static-${target}`);
    expect(left.some((n) => n?.startsWith('agent-'))).toBe(true);
    await waitPodsRunning(kube, namespace, 'app=app', 2);
  });

  it('emptyDir and unmanaged policies: block lists the pods and evicts nothing; evict drains them', async () => {
    const { target, namespace } = await setup('policy', 1);
    await createBarePod(kube, { namespace, name: 'bare-scratch', node: target, emptyDir: true });
    await createBarePod(kube, { namespace, name: 'bare', node: target });
    // A managed pod with an emptyDir volume.
    await kube.apps.createNamespacedReplicaSet({
      namespace,
      body: {
        metadata: { name: 'cache' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'cache' } },
          template: {
            metadata: { labels: { app: 'cache' } },
            spec: {
              nodeName: target,
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'c',
                  image: 'registry.k8s.io/pause:3.10',
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                },
              ],
              volumes: [{ name: 'tmp', emptyDir: {} }],
            },
          },
        },
      },
    });
    await waitPodsRunning(kube, namespace, 'app=cache', 1);
    await waitPodsRunning(kube, namespace, 'app in (bare, bare-scratch)', 2);
    const before = (await livePodsOn(target, namespace)).map((p) => p.metadata?.uid).sort();
    const cachePod = key(
      (await livePodsOn(target, namespace)).find((p) => p.metadata?.name?.startsWith('cache-'))!,
    );
    await ops.cordon(target);

    const emptyDirBlocked = await drainer().drain(
      target,
      options({ emptyDir: 'block', unmanaged: 'evict' }),
    );
    expect(emptyDirBlocked.outcome).toBe('blocked');
    if (emptyDirBlocked.outcome !== 'blocked') throw new Error('unreachable');
    expect(emptyDirBlocked.reason).toMatch(/emptyDir/);
    expect(emptyDirBlocked.pods.sort()).toEqual([`${namespace}/bare-scratch`, cachePod].sort());

    const unmanagedBlocked = await drainer().drain(
      target,
      options({ emptyDir: 'evict', unmanaged: 'block' }),
    );
    expect(unmanagedBlocked.outcome).toBe('blocked');
    if (unmanagedBlocked.outcome !== 'blocked') throw new Error('unreachable');
    expect(unmanagedBlocked.reason).toMatch(/controller/);
    expect(unmanagedBlocked.pods.sort()).toEqual([
      `${namespace}/bare`,
      `${namespace}/bare-scratch`,
    ]);

    // Blocked drains touched nothing.
    expect((await livePodsOn(target, namespace)).map((p) => p.metadata?.uid).sort()).toEqual(
      before,
    );

    const drained = await drainer().drain(
      target,
      options({ emptyDir: 'evict', unmanaged: 'evict' }),
    );
    expect(drained).toMatchObject({ outcome: 'drained', evicted: 3 });
    // The bare pods are gone for good; the ReplicaSet's pod is recreated (Pending: the only
    // node is cordoned and the template pins it there).
    const remaining = await kube.core.listNamespacedPod({ namespace });
    expect(remaining.items.filter((p) => p.metadata?.name?.startsWith('bare'))).toEqual([]);
  });

  it('times out with the remaining pods when a PDB pins them; force deletes them', async () => {
    const { pool, target, namespace } = await setup('pinned', 1);
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'pinned',
      replicas: 2,
      nodeSelector: { [poolLabel]: pool },
    });
    const pods = await waitPodsRunning(kube, namespace, 'app=pinned', 2);
    expect(await makePodsUnevictable(kube, target)).toBe(2);
    await ops.cordon(target);

    const started = Date.now();
    const result = await drainer().drain(target, options({ timeoutMs: 2000 }));
    const elapsed = Date.now() - started;
    expect(result.outcome).toBe('timeout');
    if (result.outcome !== 'timeout') throw new Error('unreachable');
    expect(result.remaining.sort()).toEqual(pods.map(key).sort());
    expect(result.durationMs).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(5000);
    // Nothing was deleted.
    expect((await livePodsOn(target, namespace)).map(key).sort()).toEqual(pods.map(key).sort());

    const forced = await drainer([], asForceDrain).drain(
      target,
      options({ timeoutMs: 1000, force: true }),
    );
    expect(forced).toMatchObject({ outcome: 'drained', evicted: 2 });
    const left = await livePodsOn(target, namespace);
    // The ReplicaSet recreates pods under new names (Pending: the node is cordoned).
    expect(left.filter((p) => pods.some((o) => o.metadata?.uid === p.metadata?.uid))).toEqual([]);
  });

  it('on an unreachable node, stops waiting for pods whose deletion started long enough ago', async () => {
    const { pool, target, namespace } = await setup('dead', 1);
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'stuck',
      replicas: 2,
      nodeSelector: { [poolLabel]: pool },
    });
    const pods = await waitPodsRunning(kube, namespace, 'app=stuck', 2);
    await ops.cordon(target);
    await stopHeartbeat(kube, target);
    await waitNodeReady(kube, target, 'Unknown', 90_000);

    const events: DrainProgress[] = [];
    const result = await drainer(events).drain(
      target,
      options({ timeoutMs: 30_000, skipWaitForDeleteAfterMs: 1000 }),
    );
    expect(result).toMatchObject({ outcome: 'drained', evicted: 2 });
    expect(events.filter((e) => e.kind === 'wait-skipped')).toHaveLength(2);
    // The kubelet is gone: the pods are still there, terminating, and nobody waits for them.
    const frozen = (await podsOnNode(kube, target)).filter(
      (p) => p.metadata?.namespace === namespace,
    );
    expect(frozen.map((p) => p.metadata?.uid).sort()).toEqual(
      pods.map((p) => p.metadata?.uid).sort(),
    );
    expect(frozen.every((p) => p.metadata?.deletionTimestamp)).toBe(true);
  });

  it('honours its AbortSignal', async () => {
    const { pool, target, namespace } = await setup('abort', 1);
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'held',
      replicas: 1,
      minAvailable: 1,
      nodeSelector: { [poolLabel]: pool },
    });
    await waitPodsRunning(kube, namespace, 'app=held', 1);
    await ops.cordon(target);
    const started = Date.now();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('heal cancelled')), 1000);
    await expect(
      drainer().drain(target, options({ timeoutMs: 60_000, signal: controller.signal })),
    ).rejects.toThrow('heal cancelled');
    expect(Date.now() - started).toBeLessThan(2500);
    await expect(
      drainer().drain(target, options({ signal: AbortSignal.abort(new Error('already')) })),
    ).rejects.toThrow('already');
  });

  it('tracks pods by uid: a pod recreated under the same name is not waited for, nor evicted', async () => {
    const { target, namespace } = await setup('uid', 1);
    // A finalizer holds the evicted pod until the test lets it go and recreates the name at once.
    await kube.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'same', labels: { app: 'same' }, finalizers: ['nodeheal.test/hold'] },
        spec: {
          nodeName: target,
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
        },
      },
    });
    const [original] = await waitPodsRunning(kube, namespace, 'app=same', 1);
    await ops.cordon(target);

    const drain = drainer().drain(target, options({ unmanaged: 'evict', timeoutMs: 20_000 }));
    await eventually('the pod to be terminating', async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'same', namespace });
      return pod.metadata?.deletionTimestamp !== undefined;
    });
    await kube.core.patchNamespacedPod(
      { name: 'same', namespace, body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    await eventually(
      'the name to be free',
      async () => {
        const list = await kube.core.listNamespacedPod({ namespace });
        return list.items.length === 0;
      },
      10_000,
      20,
    );
    await createBarePod(kube, { namespace, name: 'same', node: target });

    const result = await drain;
    expect(result).toMatchObject({ outcome: 'drained', evicted: 1 });
    const successor = await kube.core.readNamespacedPod({ name: 'same', namespace });
    expect(successor.metadata?.uid).not.toBe(original?.metadata?.uid);
    expect(successor.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('a permanent refusal (403: no right to evict) ends the drain at once with a PermanentError', async () => {
    const { pool, target, namespace } = await setup('forbid', 1);
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'app',
      replicas: 2,
      nodeSelector: { [poolLabel]: pool },
    });
    const pods = await waitPodsRunning(kube, namespace, 'app=app', 2);
    // A ServiceAccount that may list pods and read nodes, but not create evictions.
    await kube.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: 'drainer' } },
    });
    const role = uniqueName('pod-reader');
    await kube.rbac.createClusterRole({
      body: {
        metadata: { name: role },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
          { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
        ],
      },
    });
    await kube.rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'drainer', namespace }],
      },
    });
    const token = (
      await kube.core.createNamespacedServiceAccountToken({
        name: 'drainer',
        namespace,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      })
    ).status?.token;
    const limited = tokenClients(stack, token!);
    await eventually(
      'the binding to take effect',
      async () =>
        (await limited.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${target}` }))
          .items.length > 0,
    );

    const started = Date.now();
    const error: unknown = await new KubeDrainer(limited.kc)
      .drain(target, options({ timeoutMs: 30_000 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'KUBE_PERMANENT', status: 403 });
    expect((error as Error).message).toMatch(/^evict pod /);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await livePodsOn(target, namespace)).map(key).sort()).toEqual(pods.map(key).sort());
  });

  it('a node that does not exist drains to nothing', async () => {
    const result = await drainer().drain(uniqueName('nothing'), options());
    expect(result).toMatchObject({ outcome: 'drained', evicted: 0, skipped: 0 });
  });
});
