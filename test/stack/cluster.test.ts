// The local stack is a real cluster: nodes, scheduling, node lifecycle, RBAC, the Eviction API,
// and metrics flowing through kube-state-metrics into Prometheus.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  stopHeartbeat,
  resumeHeartbeat,
  setNodeCondition,
  makePodsUnevictable,
} from './helpers/faults.ts';
import {
  adminClients,
  statusOfCall,
  tokenClients,
  uniqueName,
  type KubeClients,
} from './helpers/kube.ts';
import { eventually } from './helpers/poll.ts';
import { createNodePool, poolLabel, readyStatus, waitNodeReady } from './helpers/pool.ts';
import { queryPrometheus } from './helpers/prometheus.ts';
import {
  createBarePod,
  createDaemonSet,
  createNamespace,
  createReplicaSetWithPdb,
  podsOnNode,
  waitPodsRunning,
} from './helpers/workloads.ts';

const stack = inject('stack');
let kube: KubeClients;

beforeAll(() => {
  kube = adminClients(stack);
});

describe('simulated nodes and node lifecycle', () => {
  it('3 KWOK nodes become Ready, run a pod, and a silent node goes NotReady in Kubernetes and Prometheus', async () => {
    const pool = uniqueName('life');
    const nodes = await createNodePool(kube, { name: pool, size: 3 });
    for (const name of nodes) expect(readyStatus(await kube.core.readNode({ name }))).toBe('True');

    const namespace = uniqueName('ns');
    await createNamespace(kube, namespace);
    await createBarePod(kube, { namespace, name: 'web', node: nodes[0]! });
    const [pod] = await waitPodsRunning(kube, namespace, 'app=web', 1);
    expect(pod?.spec?.nodeName).toBe(nodes[0]);
    expect(pod?.status?.podIP).toMatch(/^10\.244\./);

    const victim = nodes[1]!;
    await stopHeartbeat(kube, victim);
    await waitNodeReady(kube, victim, 'Unknown', 90_000);
    // The node controller writes the condition and the taint in separate updates.
    const tainted = await eventually(
      `the unreachable taint on ${victim}`,
      async () => {
        const node = await kube.core.readNode({ name: victim });
        const keys = node.spec?.taints?.map((t) => t.key) ?? [];
        return keys.includes('node.kubernetes.io/unreachable') ? keys : false;
      },
      30_000,
    );
    expect(tainted).toContain('node.kubernetes.io/unreachable');
    // The other nodes keep their leases and stay Ready.
    expect(readyStatus(await kube.core.readNode({ name: nodes[0]! }))).toBe('True');

    const promql = `kube_node_status_condition{condition="Ready",status="true",node="${victim}"} == 0`;
    const samples = await eventually(
      `Prometheus to report ${victim} not Ready`,
      async () => {
        const result = await queryPrometheus(stack.prometheusUrl!, promql);
        return result.length === 1 ? result : false;
      },
      60_000,
    );
    expect(samples[0]?.metric.node).toBe(victim);
    const healthy = await queryPrometheus(
      stack.prometheusUrl!,
      `kube_node_status_condition{condition="Ready",status="true",node="${nodes[0]}"}`,
    );
    expect(healthy[0]?.value[1]).toBe('1');

    await resumeHeartbeat(kube, victim);
    await waitNodeReady(kube, victim, 'True', 60_000);
  });

  it('a node-problem-detector condition sticks through heartbeats and reaches Prometheus', async () => {
    const [node] = await createNodePool(kube, { name: uniqueName('npd'), size: 1 });
    await setNodeCondition(kube, node!, 'KernelDeadlock', 'True', 'DockerHung');
    const samples = await eventually('KernelDeadlock in Prometheus', async () => {
      const r = await queryPrometheus(
        stack.prometheusUrl!,
        `kube_node_status_condition{condition="KernelDeadlock",status="true",node="${node}"} == 1`,
      );
      return r.length === 1 ? r : false;
    });
    expect(samples).toHaveLength(1);
    const conditions = (await kube.core.readNode({ name: node! })).status?.conditions ?? [];
    expect(conditions.find((c) => c.type === 'KernelDeadlock')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });
});

describe('RBAC', () => {
  it('a ServiceAccount token gets 403 listing nodes until a ClusterRole and binding grant it', async () => {
    const namespace = uniqueName('rbac');
    await createNamespace(kube, namespace);
    await kube.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: 'reader' } },
    });
    const tokenRequest = await kube.core.createNamespacedServiceAccountToken({
      name: 'reader',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    expect(token).toBeTruthy();
    const asReader = tokenClients(stack, token!);
    expect(await statusOfCall(() => asReader.core.listNode())).toBe(403);

    const role = uniqueName('node-reader');
    await kube.rbac.createClusterRole({
      body: {
        metadata: { name: role },
        rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await kube.rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    // RBAC is served from an informer cache: the grant takes effect within moments.
    await eventually(
      'the binding to take effect',
      async () => (await statusOfCall(() => asReader.core.listNode())) === 200,
    );
    // Still nothing beyond the grant.
    expect(await statusOfCall(() => asReader.core.listSecretForAllNamespaces())).toBe(403);
  });
});

describe('Eviction API and workloads', () => {
  it('evicting a pod whose PDB has minAvailable equal to its replicas returns 429', async () => {
    const namespace = uniqueName('evict');
    await createNamespace(kube, namespace);
    const pool = uniqueName('ev');
    await createNodePool(kube, { name: pool, size: 2 });
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'guarded',
      replicas: 2,
      minAvailable: 2,
      nodeSelector: { [poolLabel]: pool },
    });
    const pods = await waitPodsRunning(kube, namespace, 'app=guarded', 2);
    // The disruption controller must have observed the healthy pods before PDB math applies.
    await eventually('PDB status', async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({
        name: 'guarded',
        namespace,
      });
      return pdb.status?.currentHealthy === 2 ? pdb : false;
    });
    const name = pods[0]!.metadata!.name!;
    const evict = () =>
      kube.core.createNamespacedPodEviction({
        name,
        namespace,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
      });
    expect(await statusOfCall(evict)).toBe(429);
    // The pod is untouched.
    const pod = await kube.core.readNamespacedPod({ name, namespace });
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('places a DaemonSet, a ReplicaSet and an emptyDir pod, and pins pods against eviction', async () => {
    const namespace = uniqueName('work');
    await createNamespace(kube, namespace);
    const pool = uniqueName('wk');
    const nodes = await createNodePool(kube, { name: pool, size: 2 });
    await createDaemonSet(kube, namespace, 'agent', { [poolLabel]: pool });
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'app',
      replicas: 4,
      minAvailable: 1,
      nodeSelector: { [poolLabel]: pool },
    });
    await createBarePod(kube, { namespace, name: 'scratch', node: nodes[0]!, emptyDir: true });
    await waitPodsRunning(kube, namespace, 'app=agent', 2);
    await waitPodsRunning(kube, namespace, 'app=app', 4);
    const [scratch] = await waitPodsRunning(kube, namespace, 'app=scratch', 1);
    expect(scratch?.spec?.volumes?.some((v) => v.emptyDir)).toBe(true);

    const onNode = await podsOnNode(kube, nodes[0]!);
    expect(onNode.every((p) => p.spec?.nodeName === nodes[0])).toBe(true);
    const pinned = await makePodsUnevictable(kube, nodes[0]!);
    expect(pinned).toBe(
      onNode.filter((p) => !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet'))
        .length,
    );
    await eventually('pin PDB status', async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({
        name: `pin-${nodes[0]}`,
        namespace,
      });
      return pdb.status?.currentHealthy === pinned && pdb.status.disruptionsAllowed === 0
        ? pdb
        : false;
    });
    const code = await statusOfCall(() =>
      kube.core.createNamespacedPodEviction({
        name: 'scratch',
        namespace,
        body: { metadata: { name: 'scratch', namespace } },
      }),
    );
    expect(code).toBe(429);
    const after = await kube.core.readNamespacedPod({ name: 'scratch', namespace });
    expect(after.metadata?.deletionTimestamp).toBeUndefined();
  });
});

describe('Redis and Alertmanager', () => {
  it('Redis runs with queue/redis.conf (noeviction, AOF on)', async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis(stack.redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    } finally {
      redis.disconnect();
    }
  });

  it('the Alertmanager HA pair gossips: each sees the other as a peer', async () => {
    expect(stack.alertmanagerUrls).toHaveLength(2);
    for (const url of stack.alertmanagerUrls) {
      // An Alertmanager sees its peer before its gossip has settled ("settling", then "ready").
      const status = await eventually(`${url} cluster ready with 2 peers`, async () => {
        const body = (await (await fetch(`${url}/api/v2/status`)).json()) as {
          cluster: { status: string; peers: unknown[] };
        };
        return body.cluster.peers.length === 2 && body.cluster.status === 'ready' ? body : false;
      });
      expect(status.cluster.status).toBe('ready');
    }
  });
});
