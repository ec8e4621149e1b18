// Heals through the Cluster API and Karpenter providers: a real worker replaces an unreachable
// node of a Cluster-API-managed pool (its Machine deleted) and of a Karpenter pool (its NodeClaim
// deleted). The provider is the fence: the heal waits until the Machine (NodeClaim) is gone,
// which the test, playing the controllers' part, allows by removing the object's finalizer once
// it is being deleted (the infrastructure machine "terminated"), then bringing the replacement
// node and, as the cloud's node lifecycle controller does, deleting the Node of a machine that is
// gone. The Machine/NodeClaim deletions are counted in the apiserver's audit log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  loadAllYaml,
  type V1CustomResourceDefinition,
  type V1Node,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CAPI_MACHINE_ANNOTATION,
  CAPI_NAMESPACE_ANNOTATION,
  MACHINES,
  type Machine,
} from '../../src/providers/cluster-api.ts';
import {
  KARPENTER_NODEPOOL_LABEL,
  NODECLAIMS,
  type NodeClaim,
} from '../../src/providers/karpenter.ts';
import type { HealRecord } from '../../src/heal/index.ts';
import { readAuditLog } from '../stack/audit.ts';
import { stopHeartbeat } from '../stack/helpers/faults.ts';
import {
  adminClients,
  mergePatch,
  statusOf,
  statusOfCall,
  uniqueName,
  type KubeClients,
} from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import {
  createNodePool,
  internalIpAnnotation,
  poolLabel,
  readyStatus,
  waitNodeReady,
} from '../stack/helpers/pool.ts';
import { createNamespace } from '../stack/helpers/workloads.ts';
import { kwokManagedLabel, kwokManagedValue } from '../stack/stack.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const crdDir = join(import.meta.dirname, '..', 'stack', 'crds');
const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';
/** The finalizers the real controllers put on their objects. */
const CAPI_FINALIZER = 'machine.cluster.x-k8s.io';
const KARPENTER_FINALIZER = 'karpenter.sh/termination';

const capiPool = uniqueName('hp-capi');
const karpenterPool = uniqueName('hp-karp');

let kube: KubeClients;
let custom: CustomObjectsApi;
let harness: Harness;

/** Creates the CRDs of a file in test/stack/crds/ (already there is fine) and waits until served. */
async function installCrds(file: string): Promise<void> {
  const api = kube.kc.makeApiClient(ApiextensionsV1Api);
  const docs = loadAllYaml(
    readFileSync(join(crdDir, file), 'utf8'),
  ) as V1CustomResourceDefinition[];
  for (const crd of docs) {
    const status = await statusOfCall(() => api.createCustomResourceDefinition({ body: crd }));
    expect([200, 201, 409]).toContain(status);
    await eventually(`CRD ${crd.metadata?.name} established`, async () => {
      const current = await api.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
      return current.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
    });
  }
}

/** A Ready node joining `pool` under `name`, as the pool's controller brings a new machine. */
async function joinPool(
  pool: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await kube.core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          ...labels,
          [poolLabel]: pool,
          [kwokManagedLabel]: kwokManagedValue,
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'node-role.kubernetes.io/worker': '',
        },
        annotations: { [internalIpAnnotation]: `10.202.${Math.floor(Math.random() * 250)}.1` },
      },
      spec: {},
    },
  });
  await waitNodeReady(kube, name, 'True');
}

/** Deletions of one object by nodeheal's ServiceAccounts, as the apiserver's audit log shows them. */
function auditedDeletes(resource: string, path: string): number {
  expect(stack.auditLog, 'the stack writes an audit log').toBeDefined();
  return readAuditLog(stack.auditLog!).filter(
    (r) =>
      r.verb === 'delete' &&
      r.resource === resource &&
      r.uri.split('?')[0]!.endsWith(path) &&
      r.user.startsWith('system:serviceaccount:nodeheal-system:'),
  ).length;
}

async function nodeExists(name: string): Promise<boolean> {
  const status = await statusOfCall(() => kube.core.readNode({ name }));
  if (status !== 200 && status !== 404) throw new Error(`reading node ${name}: ${status}`);
  return status === 200;
}

const hasOutOfServiceTaint = (node: V1Node) =>
  (node.spec?.taints ?? []).some((t) => t.key === OUT_OF_SERVICE_TAINT);

/**
 * The controller's part once nodeheal deleted the object: wait until it is being deleted,
 * terminate the "machine" (remove the finalizer: the object goes), bring a replacement node into
 * the pool, and once nodeheal has fenced the old node (its out-of-service taint is there), delete
 * the old Node as a cloud's node lifecycle controller does for a machine that is gone.
 */
async function playController(options: {
  what: string;
  read: () => Promise<{ metadata?: { deletionTimestamp?: unknown } } | undefined>;
  removeFinalizer: () => Promise<void>;
  victim: string;
  replacement: () => Promise<void>;
}): Promise<void> {
  await eventually(
    `${options.what} being deleted`,
    async () => (await options.read())?.metadata?.deletionTimestamp !== undefined,
    240_000,
    200,
  );
  await options.removeFinalizer();
  await eventually(`${options.what} gone`, async () => (await options.read()) === undefined);
  await options.replacement();
  await eventually(
    `the out-of-service taint on ${options.victim}`,
    async () => hasOutOfServiceTaint(await kube.core.readNode({ name: options.victim })),
    240_000,
    200,
  );
  await kube.core.deleteNode({ name: options.victim });
}

/** Stops the victim's kubelet, waits for Ready Unknown and posts the alert Prometheus would. */
async function makeUnreachable(victim: string): Promise<void> {
  await stopHeartbeat(kube, victim);
  await waitNodeReady(kube, victim, 'Unknown', 90_000);
  await harness.fire(victim, 'NodeUnreachable', { condition: 'Ready', status: 'unknown' });
}

/** The promise's error, or undefined once it resolved (never an unhandled rejection). */
async function settled(promise: Promise<void>): Promise<unknown> {
  return await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function explain(heal: HealRecord): string {
  return JSON.stringify(heal.transitions, null, 1);
}

beforeAll(async () => {
  kube = adminClients(stack);
  custom = kube.kc.makeApiClient(CustomObjectsApi);
  await installCrds('cluster-api.yaml');
  await installCrds('karpenter.yaml');
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'node-not-ready': [{ action: 'replace', timeout: '240s' }] },
    workerEnv: {
      NODEHEAL_PROVIDERS: JSON.stringify([
        { selector: { [poolLabel]: capiPool }, provider: 'cluster-api' },
        { selector: { [poolLabel]: karpenterPool }, provider: 'karpenter' },
      ]),
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

describe('heals through the Cluster API and Karpenter providers', () => {
  it('Cluster API pool: the Machine is deleted once, its deletion is the fence, the old Node goes, the heal ends healed', async () => {
    const namespace = uniqueName('hp-capi');
    await createNamespace(kube, namespace);
    const nodes = await createNodePool(kube, { name: capiPool, size: 3 });
    const victim = nodes[0]!;
    const machineSet = (await custom.createNamespacedCustomObject({
      group: 'cluster.x-k8s.io',
      version: 'v1beta1',
      plural: 'machinesets',
      namespace,
      body: {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineSet',
        metadata: { name: 'md-0', namespace },
        spec: { clusterName: 'test', replicas: 3 },
      },
    })) as Machine;
    const machineName = 'md-0-victim';
    await custom.createNamespacedCustomObject({
      ...MACHINES,
      namespace,
      body: {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Machine',
        metadata: {
          name: machineName,
          namespace,
          finalizers: [CAPI_FINALIZER],
          ownerReferences: [
            {
              apiVersion: 'cluster.x-k8s.io/v1beta1',
              kind: 'MachineSet',
              name: 'md-0',
              uid: machineSet.metadata?.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { clusterName: 'test', bootstrap: { dataSecretName: 'none' } },
      },
    });
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...MACHINES,
        namespace,
        name: machineName,
        body: { status: { nodeRef: { apiVersion: 'v1', kind: 'Node', name: victim } } },
      },
      mergePatch,
    );
    await kube.core.patchNode(
      {
        name: victim,
        body: {
          metadata: {
            annotations: {
              [CAPI_MACHINE_ANNOTATION]: machineName,
              [CAPI_NAMESPACE_ANNOTATION]: namespace,
            },
          },
        },
      },
      mergePatch,
    );
    const readMachine = async () => {
      try {
        return (await custom.getNamespacedCustomObject({
          ...MACHINES,
          namespace,
          name: machineName,
        })) as Machine;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    };
    const controller = settled(
      playController({
        what: `Machine ${namespace}/${machineName}`,
        read: readMachine,
        removeFinalizer: async () => {
          await custom.patchNamespacedCustomObject(
            { ...MACHINES, namespace, name: machineName, body: { metadata: { finalizers: null } } },
            mergePatch,
          );
        },
        victim,
        replacement: () => joinPool(capiPool, `${capiPool}-r`),
      }),
    );

    await makeUnreachable(victim);
    const heal = await harness.finishedHeal(victim, 240_000);
    expect(await controller, 'the stand-in controller').toBeUndefined();
    expect(heal.status, explain(heal)).toBe('healed');
    expect(heal.fence, explain(heal)).toMatchObject({ method: 'provider', by: 'cluster-api' });
    expect(heal.outOfServiceAt).toBeGreaterThanOrEqual(heal.fence!.at);
    expect(heal.nodeGone).toBe(true);
    expect(await readMachine()).toBeUndefined();
    expect(
      auditedDeletes('machines', `/namespaces/${namespace}/machines/${machineName}`),
      'DELETE requests of the Machine by nodeheal',
    ).toBe(1);
    expect(await nodeExists(victim)).toBe(false);
    expect(readyStatus(await kube.core.readNode({ name: `${capiPool}-r` }))).toBe('True');
  });

  it('Karpenter pool: the NodeClaim is deleted once, its deletion is the fence, the old Node goes, the heal ends healed', async () => {
    const nodes = await createNodePool(kube, {
      name: karpenterPool,
      size: 3,
      labels: { [KARPENTER_NODEPOOL_LABEL]: 'default' },
    });
    const victim = nodes[0]!;
    const claimName = uniqueName('default');
    await custom.createClusterCustomObject({
      ...NODECLAIMS,
      body: {
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodeClaim',
        metadata: {
          name: claimName,
          labels: { [KARPENTER_NODEPOOL_LABEL]: 'default' },
          finalizers: [KARPENTER_FINALIZER],
        },
        spec: {
          nodeClassRef: { group: 'karpenter.kwok.sh', kind: 'KWOKNodeClass', name: 'default' },
        },
      },
    });
    await custom.patchClusterCustomObjectStatus(
      {
        ...NODECLAIMS,
        name: claimName,
        body: { status: { nodeName: victim, providerID: `kwok://${victim}` } },
      },
      mergePatch,
    );
    const readClaim = async () => {
      try {
        return (await custom.getClusterCustomObject({
          ...NODECLAIMS,
          name: claimName,
        })) as NodeClaim;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    };
    const controller = settled(
      playController({
        what: `NodeClaim ${claimName}`,
        read: readClaim,
        removeFinalizer: async () => {
          await custom.patchClusterCustomObject(
            { ...NODECLAIMS, name: claimName, body: { metadata: { finalizers: null } } },
            mergePatch,
          );
        },
        victim,
        replacement: () =>
          joinPool(karpenterPool, `${karpenterPool}-r`, { [KARPENTER_NODEPOOL_LABEL]: 'default' }),
      }),
    );

    await makeUnreachable(victim);
    const heal = await harness.finishedHeal(victim, 240_000);
    expect(await controller, 'the stand-in controller').toBeUndefined();
    expect(heal.status, explain(heal)).toBe('healed');
    expect(heal.fence, explain(heal)).toMatchObject({ method: 'provider', by: 'karpenter' });
    expect(heal.outOfServiceAt).toBeGreaterThanOrEqual(heal.fence!.at);
    expect(heal.nodeGone).toBe(true);
    expect(await readClaim()).toBeUndefined();
    expect(
      auditedDeletes('nodeclaims', `/nodeclaims/${claimName}`),
      'DELETE requests of the NodeClaim by nodeheal',
    ).toBe(1);
    expect(await nodeExists(victim)).toBe(false);
    expect(readyStatus(await kube.core.readNode({ name: `${karpenterPool}-r` }))).toBe('True');
  });
});
