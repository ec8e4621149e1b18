// Node replacement providers against the real stack: KWOK (the local simulated pool), plain
// (delete the Node), Cluster API (delete the Machine) and Karpenter (delete the NodeClaim), the
// last two over minimal CRDs from test/stack/crds/ with the test playing the controllers' part.
import type { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  loadAllYaml,
  type V1CustomResourceDefinition,
  type V1Node,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CAPI_MACHINE_ANNOTATION,
  CAPI_NAMESPACE_ANNOTATION,
  ClusterApiProvider,
  MACHINES,
  type Machine,
} from '../../src/providers/cluster-api.ts';
import {
  KARPENTER_NODEPOOL_LABEL,
  KarpenterProvider,
  NODECLAIMS,
  type NodeClaim,
} from '../../src/providers/karpenter.ts';
import {
  INTERNAL_IP_ANNOTATION,
  KWOK_MANAGED_VALUE,
  KWOK_NODE_LABEL,
  KwokProvider,
} from '../../src/providers/kwok.ts';
import { PlainProvider } from '../../src/providers/plain.ts';
import {
  createProviders,
  selectProvider,
  type ProviderRule,
} from '../../src/providers/select-provider.ts';
import { stopHeartbeat } from '../stack/helpers/faults.ts';
import {
  adminClients,
  mergePatch,
  statusOfCall,
  uniqueName,
  type KubeClients,
} from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel, readyStatus, waitNodeReady } from '../stack/helpers/pool.ts';
import { createNamespace } from '../stack/helpers/workloads.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let custom: CustomObjectsApi;

const crdDir = join(import.meta.dirname, '..', 'stack', 'crds');

/** Creates the CRDs of a file in test/stack/crds/ (already there is fine) and waits until served. */
async function installCrds(file: string): Promise<void> {
  const api = kube.kc.makeApiClient(ApiextensionsV1Api);
  // loadAllYaml maps YAML keys to the client's model (x-kubernetes-preserve-unknown-fields).
  const docs = loadAllYaml(
    readFileSync(join(crdDir, file), 'utf8'),
  ) as V1CustomResourceDefinition[];
  for (const crd of docs) {
    const status = await statusOfCall(() => api.createCustomResourceDefinition({ body: crd }));
    expect([200, 409]).toContain(status);
    await eventually(`CRD ${crd.metadata?.name} established`, async () => {
      const current = await api.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
      return current.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
    });
  }
}

/** The Node, or undefined when the apiserver says 404; any other error fails the test. */
async function readNodeOrUndefined(name: string): Promise<V1Node | undefined> {
  try {
    return await kube.core.readNode({ name });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/** nodeheal's own identity (the chart's ClusterRole): what nodeheal's code runs with. */
let asNodeheal: KubeConfig;

beforeAll(async () => {
  kube = adminClients(stack);
  asNodeheal = (await nodehealKubeconfig(kube, stack)).kc;
  custom = kube.kc.makeApiClient(CustomObjectsApi);
});

describe('KwokProvider', () => {
  it('surges a Ready replacement with the pool labels and taints, then removes the old node; idempotent', async () => {
    const pool = uniqueName('kwokp');
    const nodes = await createNodePool(kube, {
      name: pool,
      size: 2,
      labels: { 'nodeheal.test/tier': 'web' },
    });
    const victim = nodes[0]!;
    await kube.core.patchNode(
      {
        name: victim,
        body: { spec: { taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }] } },
      },
      mergePatch,
    );
    // The kubelet died: KWOK no longer manages the node (its label is not `fake` any more).
    await stopHeartbeat(kube, victim);
    const old = await kube.core.readNode({ name: victim });
    const provider = new KwokProvider(asNodeheal);
    expect(provider.canSurge).toBe(true);

    const result = await provider.replace(old);
    expect(result.outcome).toBe('replaced');
    if (result.outcome !== 'replaced') throw new Error('unreachable');
    expect(result.replacement).toMatch(new RegExp(`^${pool}-r-[0-9a-f]{8}$`));
    const replacement = await kube.core.readNode({ name: result.replacement! });
    expect(readyStatus(replacement)).toBe('True');
    const labels = replacement.metadata?.labels ?? {};
    expect(labels[poolLabel]).toBe(pool);
    expect(labels['nodeheal.test/tier']).toBe('web');
    expect(labels['node-role.kubernetes.io/worker']).toBe('');
    expect(labels['kubernetes.io/hostname']).toBe(result.replacement);
    expect(labels[KWOK_NODE_LABEL]).toBe(KWOK_MANAGED_VALUE);
    expect(replacement.spec?.taints).toEqual([
      expect.objectContaining({ key: 'dedicated', value: 'web', effect: 'NoSchedule' }),
    ]);
    const ips = [old, await kube.core.readNode({ name: nodes[1]! })].map(
      (n) => n.metadata?.annotations?.[INTERNAL_IP_ANNOTATION],
    );
    const ip = replacement.metadata?.annotations?.[INTERNAL_IP_ANNOTATION];
    expect(ip).toMatch(/^10\.201\.\d+\.\d+$/);
    expect(ips).not.toContain(ip);
    expect(ip?.split('.').slice(0, 3)).toEqual(ips[0]?.split('.').slice(0, 3));
    expect(replacement.status?.addresses).toContainEqual({ type: 'InternalIP', address: ip });
    expect(await readNodeOrUndefined(victim)).toBeUndefined();

    // Again for the same node: nothing new.
    const again = await provider.replace(old);
    expect(again).toMatchObject({ outcome: 'replaced', replacement: result.replacement });
    const poolNodes = await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` });
    expect(poolNodes.items.map((n) => n.metadata?.name).sort()).toEqual(
      [nodes[1], result.replacement].sort(),
    );
  });
});

describe('PlainProvider', () => {
  it('deletes the Node (the cloud pool replaces it); idempotent, and never deletes a new Node of the same name', async () => {
    const pool = uniqueName('plain');
    const [name] = await createNodePool(kube, { name: pool, size: 1 });
    const old = await kube.core.readNode({ name: name! });
    const provider = new PlainProvider(asNodeheal);
    expect(provider.canSurge).toBe(false);

    expect((await provider.replace(old)).outcome).toBe('replaced');
    expect(await readNodeOrUndefined(name!)).toBeUndefined();
    expect(await provider.replace(old)).toMatchObject({
      outcome: 'replaced',
      detail: expect.stringMatching(/already gone/) as unknown,
    });

    // The pool brings up a machine that registers under the same name: a late call leaves it.
    await createNodePool(kube, { name: pool, size: 1 });
    expect((await provider.replace(old)).outcome).toBe('replaced');
    const successor = await kube.core.readNode({ name: name! });
    expect(successor.metadata?.uid).not.toBe(old.metadata?.uid);
  });
});

describe('ClusterApiProvider', () => {
  const machineSetApi = { group: 'cluster.x-k8s.io', version: 'v1beta1', plural: 'machinesets' };

  async function createMachine(
    namespace: string,
    name: string,
    node: string | undefined,
    owner?: { name: string; uid: string },
  ): Promise<Machine> {
    const machine = (await custom.createNamespacedCustomObject({
      ...MACHINES,
      namespace,
      body: {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Machine',
        metadata: {
          name,
          namespace,
          ...(owner
            ? {
                ownerReferences: [
                  {
                    apiVersion: 'cluster.x-k8s.io/v1beta1',
                    kind: 'MachineSet',
                    name: owner.name,
                    uid: owner.uid,
                    controller: true,
                    blockOwnerDeletion: true,
                  },
                ],
              }
            : {}),
        },
        spec: { clusterName: 'test', bootstrap: { dataSecretName: 'none' } },
      },
    })) as Machine;
    if (!node) return machine;
    return (await custom.patchNamespacedCustomObjectStatus(
      {
        ...MACHINES,
        namespace,
        name,
        body: { status: { nodeRef: { apiVersion: 'v1', kind: 'Node', name: node } } },
      },
      mergePatch,
    )) as Machine;
  }

  async function machineNames(namespace: string): Promise<string[]> {
    const list = (await custom.listNamespacedCustomObject({ ...MACHINES, namespace })) as {
      items: Machine[];
    };
    return list.items.map((m) => m.metadata?.name ?? '').sort();
  }

  beforeAll(async () => {
    await installCrds('cluster-api.yaml');
  });

  it('deletes the Machine whose nodeRef is the node; the MachineSet side brings the new Machine and node', async () => {
    const namespace = uniqueName('capi');
    await createNamespace(kube, namespace);
    const pool = uniqueName('md');
    const [node] = await createNodePool(kube, { name: pool, size: 1 });
    const machineSet = (await custom.createNamespacedCustomObject({
      ...machineSetApi,
      namespace,
      body: {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineSet',
        metadata: { name: 'md-0', namespace },
        spec: { clusterName: 'test', replicas: 1 },
      },
    })) as Machine;
    const owner = { name: 'md-0', uid: machineSet.metadata?.uid ?? '' };
    await createMachine(namespace, 'md-0-old', node, owner);
    // Cluster API annotates the Nodes it manages with their Machine.
    await kube.core.patchNode(
      {
        name: node!,
        body: {
          metadata: {
            annotations: {
              [CAPI_MACHINE_ANNOTATION]: 'md-0-old',
              [CAPI_NAMESPACE_ANNOTATION]: namespace,
            },
          },
        },
      },
      mergePatch,
    );
    // Another cluster's Machine, for another node, must stay.
    const otherNamespace = uniqueName('capi-other');
    await createNamespace(kube, otherNamespace);
    // Owned by a MachineSet of its own namespace: an owner reference across namespaces would be
    // dangling, and Kubernetes' garbage collector deletes such dependents (this test flaked so).
    const otherSet = (await custom.createNamespacedCustomObject({
      ...machineSetApi,
      namespace: otherNamespace,
      body: {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineSet',
        metadata: { name: 'md-0', namespace: otherNamespace },
        spec: { clusterName: 'other', replicas: 1 },
      },
    })) as Machine;
    await createMachine(otherNamespace, 'other', `${pool}-elsewhere`, {
      name: 'md-0',
      uid: otherSet.metadata?.uid ?? '',
    });

    const provider = new ClusterApiProvider(asNodeheal);
    expect(provider.canSurge).toBe(false);
    const old = await kube.core.readNode({ name: node! });
    const result = await provider.replace(old);
    expect(result).toMatchObject({ outcome: 'replaced' });
    expect(result.detail).toContain(`${namespace}/md-0-old`);
    expect(await machineNames(namespace)).toEqual([]);
    expect(await machineNames(otherNamespace)).toEqual(['other']);

    // The MachineSet's part: a new Machine, its node joins, the old node is removed.
    const [fresh] = await createNodePool(kube, { name: `${pool}-n`, size: 1 });
    await createMachine(namespace, 'md-0-new', fresh, owner);
    await kube.core.deleteNode({ name: node! });

    expect(await machineNames(namespace)).toEqual(['md-0-new']);
    const newMachine = (await custom.getNamespacedCustomObject({
      ...MACHINES,
      namespace,
      name: 'md-0-new',
    })) as Machine;
    expect(
      readyStatus(await waitNodeReady(kube, newMachine.status?.nodeRef?.name ?? '', 'True')),
    ).toBe('True');
    expect(await readNodeOrUndefined(node!)).toBeUndefined();
    // A repeated call for the old node changes nothing.
    expect((await provider.replace(old)).outcome).toBe('replaced');
    expect(await machineNames(namespace)).toEqual(['md-0-new']);
  });

  it('finds the Machine without the node annotations (list), and refuses a Machine no controller owns', async () => {
    const namespace = uniqueName('capi-bare');
    await createNamespace(kube, namespace);
    const [node] = await createNodePool(kube, { name: uniqueName('ma'), size: 1 });
    const machine = await createMachine(namespace, 'lonely', node);
    const result = await new ClusterApiProvider(asNodeheal).replace(
      await kube.core.readNode({ name: node! }),
    );
    expect(result.outcome).toBe('unsupported');
    expect(result.detail).toMatch(/no controller/);
    const still = (await custom.getNamespacedCustomObject({
      ...MACHINES,
      namespace,
      name: 'lonely',
    })) as Machine;
    expect(still.metadata?.resourceVersion).toBe(machine.metadata?.resourceVersion);
  });

  it('a node no Machine owns is unsupported', async () => {
    const [node] = await createNodePool(kube, { name: uniqueName('nocapi'), size: 1 });
    const result = await new ClusterApiProvider(asNodeheal).replace(
      await kube.core.readNode({ name: node! }),
    );
    expect(result.outcome).toBe('unsupported');
    expect(await readNodeOrUndefined(node!)).toBeDefined();
  });
});

describe('KarpenterProvider', () => {
  async function createNodeClaim(name: string, node: string): Promise<NodeClaim> {
    await custom.createClusterCustomObject({
      ...NODECLAIMS,
      body: {
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodeClaim',
        metadata: { name, labels: { [KARPENTER_NODEPOOL_LABEL]: 'default' } },
        spec: {
          nodeClassRef: { group: 'karpenter.kwok.sh', kind: 'KWOKNodeClass', name: 'default' },
        },
      },
    });
    return (await custom.patchClusterCustomObjectStatus(
      {
        ...NODECLAIMS,
        name,
        body: { status: { nodeName: node, providerID: `kwok://${node}` } },
      },
      mergePatch,
    )) as NodeClaim;
  }

  async function nodeClaimExists(name: string): Promise<boolean> {
    return (
      (await statusOfCall(() => custom.getClusterCustomObject({ ...NODECLAIMS, name }))) === 200
    );
  }

  beforeAll(async () => {
    await installCrds('karpenter.yaml');
  });

  it('deletes the NodeClaim whose status.nodeName is the node; Karpenter brings new capacity', async () => {
    const pool = uniqueName('karp');
    const [node] = await createNodePool(kube, {
      name: pool,
      size: 1,
      labels: { [KARPENTER_NODEPOOL_LABEL]: 'default' },
    });
    const claim = uniqueName('default');
    await createNodeClaim(claim, node!);
    const bystander = uniqueName('default');
    await createNodeClaim(bystander, `${pool}-elsewhere`);

    const provider = new KarpenterProvider(asNodeheal);
    expect(provider.canSurge).toBe(false);
    const old = await kube.core.readNode({ name: node! });
    const result = await provider.replace(old);
    expect(result).toMatchObject({ outcome: 'replaced' });
    expect(result.detail).toContain(claim);
    expect(await nodeClaimExists(claim)).toBe(false);
    expect(await nodeClaimExists(bystander)).toBe(true);

    // Karpenter's part: a new NodeClaim and node, the old node terminated.
    const [fresh] = await createNodePool(kube, {
      name: `${pool}-n`,
      size: 1,
      labels: { [KARPENTER_NODEPOOL_LABEL]: 'default' },
    });
    const newClaim = uniqueName('default');
    await createNodeClaim(newClaim, fresh!);
    await kube.core.deleteNode({ name: node! });
    expect(await nodeClaimExists(newClaim)).toBe(true);
    expect(readyStatus(await kube.core.readNode({ name: fresh! }))).toBe('True');
    expect((await provider.replace(old)).outcome).toBe('replaced');
    expect(await nodeClaimExists(newClaim)).toBe(true);
  });

  it('a node Karpenter does not manage is unsupported', async () => {
    const [node] = await createNodePool(kube, { name: uniqueName('nokarp'), size: 1 });
    const result = await new KarpenterProvider(asNodeheal).replace(
      await kube.core.readNode({ name: node! }),
    );
    expect(result.outcome).toBe('unsupported');
  });
});

describe('selectProvider', () => {
  it('chooses the provider of the first rule whose selector matches the node; none (never plain) or the explicit default otherwise', async () => {
    const kwokPool = uniqueName('selk');
    const capiPool = uniqueName('selc');
    const [kwokNode] = await createNodePool(kube, { name: kwokPool, size: 1 });
    const [capiNode] = await createNodePool(kube, { name: capiPool, size: 1 });
    const [otherNode] = await createNodePool(kube, { name: uniqueName('selo'), size: 1 });
    const rules: ProviderRule[] = [
      { selector: { [poolLabel]: kwokPool }, provider: 'kwok' },
      {
        selector: { [poolLabel]: capiPool, 'node-role.kubernetes.io/worker': '' },
        provider: 'cluster-api',
      },
      { selector: { [poolLabel]: capiPool }, provider: 'karpenter' },
    ];
    const providers = createProviders(asNodeheal);
    const pick = async (name: string, fallback?: 'plain') =>
      selectProvider(await kube.core.readNode({ name }), rules, providers, fallback)?.name;
    expect(await pick(kwokNode!)).toBe('kwok');
    expect(await pick(capiNode!)).toBe('cluster-api');
    expect(await pick(otherNode!)).toBeUndefined();
    expect(await pick(otherNode!, 'plain')).toBe('plain');
    expect(() =>
      selectProvider({ metadata: { name: 'x', labels: { [poolLabel]: kwokPool } } }, rules, {
        plain: providers.plain,
      }),
    ).toThrow(/kwok/);
  });
});
