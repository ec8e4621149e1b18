// What draining a node costs its workloads (pure): pods by kind, local data, PDB headroom.
import type { V1LabelSelector, V1PodDisruptionBudget, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  disruptionCost,
  ownerKey,
  ownersToRead,
  selects,
  type OwnerInfo,
} from '../../../src/actions/index.ts';
import {
  costSummary,
  evictedByKind,
  healCostSchema,
  healRecordSchema,
  isDisruptive,
  isOutage,
  newHealRecord,
} from '../../../src/heal/index.ts';

function pod(
  name: string,
  opts: {
    ns?: string;
    owner?: [kind: string, name: string];
    labels?: Record<string, string>;
    emptyDir?: boolean;
    claim?: string;
    mirror?: boolean;
    phase?: string;
  } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'shop',
      labels: opts.labels ?? {},
      ...(opts.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
      ...(opts.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: opts.owner[0],
                name: opts.owner[1],
                uid: opts.owner.join('/'),
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      containers: [],
      volumes: [
        ...(opts.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : []),
        ...(opts.claim ? [{ name: 'data', persistentVolumeClaim: { claimName: opts.claim } }] : []),
      ],
    },
    status: { phase: opts.phase ?? 'Running' },
  };
}

function pdb(
  name: string,
  selector: V1LabelSelector,
  allowed: number,
  ns = 'shop',
): V1PodDisruptionBudget {
  return {
    metadata: { name, namespace: ns },
    spec: { selector },
    status: {
      disruptionsAllowed: allowed,
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
    },
  };
}

const owners = new Map<string, OwnerInfo>([
  [ownerKey('shop', 'ReplicaSet', 'web-1'), { replicas: 3, workload: 'Deployment/web' }],
  [ownerKey('shop', 'ReplicaSet', 'db-1'), { replicas: 1, workload: 'Deployment/db' }],
  [ownerKey('shop', 'StatefulSet', 'kafka'), { replicas: 2, workload: 'StatefulSet/kafka' }],
]);

describe('disruptionCost', () => {
  const pods = [
    pod('web-a', { owner: ['ReplicaSet', 'web-1'], labels: { app: 'web' } }),
    pod('db-a', { owner: ['ReplicaSet', 'db-1'], labels: { app: 'db' }, emptyDir: true }),
    // Both replicas of kafka are on this node: nothing of it is left.
    pod('kafka-0', { owner: ['StatefulSet', 'kafka'], claim: 'data-kafka-0' }),
    pod('kafka-1', { owner: ['StatefulSet', 'kafka'], claim: 'data-kafka-1' }),
    pod('bare'),
    pod('job-x', { owner: ['Job', 'nightly'] }),
    pod('lost-owner', { owner: ['ReplicaSet', 'unread'] }),
    pod('agent', { ns: 'kube-system', owner: ['DaemonSet', 'agent'] }),
    pod('static', { ns: 'kube-system', mirror: true, owner: ['Node', 'n1'] }),
    pod('done', { owner: ['Job', 'nightly'], phase: 'Succeeded' }),
  ];
  const cost = disruptionCost(
    {
      pods,
      owners,
      pdbs: [
        pdb('web', { matchLabels: { app: 'web' } }, 1),
        pdb('db', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, 0),
        pdb('other-ns', {}, 5, 'elsewhere'),
        pdb('none-here', { matchLabels: { app: 'search' } }, 2),
      ],
      unreadPdbs: ['kube-system'],
      localClaims: new Set(['shop/data-kafka-0']),
    },
    1000,
  );
  const byPod = Object.fromEntries(cost.pods.map((p) => [p.pod, p]));

  it.each([
    ['shop/web-a', 'replicated', 'Deployment/web', 3, [], ['shop/web']],
    ['shop/db-a', 'single-replica', 'Deployment/db', 1, ['emptyDir'], ['shop/db']],
    ['shop/kafka-0', 'single-replica', 'StatefulSet/kafka', 2, ['local-pv'], []],
    ['shop/kafka-1', 'single-replica', 'StatefulSet/kafka', 2, [], []],
    ['shop/bare', 'unmanaged', null, null, [], []],
    ['shop/job-x', 'other', 'Job/nightly', null, [], []],
    ['shop/lost-owner', 'other', 'ReplicaSet/unread', null, [], []],
    ['kube-system/agent', 'daemonset', 'DaemonSet/agent', null, [], []],
    ['kube-system/static', 'mirror', 'Node/n1', null, [], []],
  ])('%s is %s', (name, kind, owner, replicas, localData, pdbs) => {
    expect(byPod[name]).toEqual({ pod: name, kind, owner, replicas, localData, pdbs });
  });

  it('leaves terminated pods out and lists only the PDBs of its pods, with their headroom', () => {
    expect(byPod['shop/done']).toBeUndefined();
    expect(cost.pods).toHaveLength(9);
    expect(cost.pdbs).toEqual([
      { name: 'shop/web', disruptionsAllowed: 1, pods: 1 },
      { name: 'shop/db', disruptionsAllowed: 0, pods: 1 },
    ]);
    expect(cost.unreadPdbs).toEqual(['kube-system']);
    expect(cost.at).toBe(1000);
  });

  it('counts evicted pods by kind (local data overlapping), and calls it an outage', () => {
    expect(evictedByKind(cost)).toEqual({
      replicated: 1,
      'single-replica': 3,
      unmanaged: 1,
      other: 2,
      'local-data': 2,
    });
    expect(isOutage(cost)).toBe(true);
    expect(costSummary(cost)).toBe(
      'evicts 7 pod(s): 1 replicated, 3 single replica (downtime), 1 unmanaged (not recreated), 2 of other controllers, 2 with local data (lost); 2 left alone (DaemonSet, mirror); PDB headroom: shop/web 1, shop/db 0; PDBs unread in kube-system',
    );
  });

  it('a node with only replicated pods is no outage', () => {
    const calm = disruptionCost({ pods: [pods[0]!, pods[7]!], owners, pdbs: [] }, 0);
    expect(isOutage(calm)).toBe(false);
    expect(costSummary(calm)).toBe(
      'evicts 1 pod(s): 1 replicated; 1 left alone (DaemonSet, mirror)',
    );
  });

  it('asks only for the owners whose replica count matters, once each', () => {
    expect(ownersToRead(pods)).toEqual([
      { namespace: 'shop', kind: 'ReplicaSet', name: 'web-1' },
      { namespace: 'shop', kind: 'ReplicaSet', name: 'db-1' },
      { namespace: 'shop', kind: 'StatefulSet', name: 'kafka' },
      { namespace: 'shop', kind: 'ReplicaSet', name: 'unread' },
    ]);
  });
});

describe('selects', () => {
  it.each([
    [undefined, {}, false],
    [{}, { a: '1' }, true],
    [{ matchLabels: { a: '1' } }, { a: '1', b: '2' }, true],
    [{ matchLabels: { a: '1' } }, { a: '2' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {}, false],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {}, true],
  ])('%j selects %j: %s', (selector, labels, expected) => {
    expect(selects(selector, labels)).toBe(expected);
  });
});

describe('the cost on the heal record', () => {
  it('old records without a cost parse, with cost null; a new one keeps it', () => {
    const record = newHealRecord({
      id: 'h1',
      node: 'n1',
      fault: 'f',
      pool: 'p',
      ladder: [{ action: 'drain', timeoutMs: 1000 }],
      faultStartedAt: 0,
      now: new Date(0),
    });
    const old: Partial<typeof record> = { ...record };
    delete old.cost;
    expect(healRecordSchema.parse(old).cost).toBeNull();
    const cost = healCostSchema.parse({ at: 1, pods: [], pdbs: [] });
    expect(cost.unreadPdbs).toEqual([]);
    expect(healRecordSchema.parse({ ...record, cost }).cost).toEqual(cost);
  });

  it.each([
    ['drain', true],
    ['replace', true],
    ['reboot', true],
    ['cordon', false],
    ['restart-kubelet', false],
  ] as const)('%s is disruptive: %s', (action, expected) => {
    expect(isDisruptive(action)).toBe(expected);
  });
});
