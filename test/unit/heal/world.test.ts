// Whether what an alert was about is healthy again, read from the Node the API serves: the
// source of truth that a resolution nodeheal may have caused (its own cordon) cannot fake.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { conditionHealthy } from '../../../src/heal/index.ts';

function node(conditions: Record<string, string>, taints: [string, string][] = []): V1Node {
  return {
    metadata: { name: 'worker-1' },
    spec: { taints: taints.map(([key, effect]) => ({ key, effect })) },
    status: { conditions: Object.entries(conditions).map(([type, status]) => ({ type, status })) },
  };
}

const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' };

describe('conditionHealthy', () => {
  it.each<[string, Record<string, string>, V1Node, boolean | undefined]>([
    // nodeheal's own rules: the bad status is in the labels.
    [
      'NodeNotReady, node Ready again',
      { condition: 'Ready', status: 'false' },
      node({ Ready: 'True' }),
      true,
    ],
    [
      'NodeUnreachable, still Unknown',
      { condition: 'Ready', status: 'unknown' },
      node({ Ready: 'Unknown' }),
      false,
    ],
    // kube-prometheus-stack's KubeNodeNotReady carries status="true" (the series it compares to 0).
    [
      'KubeNodeNotReady, node NotReady',
      { condition: 'Ready', status: 'true' },
      node({ Ready: 'False' }),
      false,
    ],
    [
      'KubeNodeNotReady, node Ready',
      { condition: 'Ready', status: 'true' },
      node({ Ready: 'True' }),
      true,
    ],
    [
      'KubeNodePressure DiskPressure still True',
      { condition: 'DiskPressure', status: 'true' },
      node({ DiskPressure: 'True' }),
      false,
    ],
    [
      'KubeNodePressure DiskPressure False',
      { condition: 'DiskPressure', status: 'true' },
      node({ DiskPressure: 'False' }),
      true,
    ],
    [
      'a condition the node does not report',
      { condition: 'KernelDeadlock', status: 'true' },
      node({ Ready: 'True' }),
      undefined,
    ],
    [
      'no condition in the labels (node-exporter)',
      { instance: '10.0.0.5:9100' },
      node({ Ready: 'True' }),
      undefined,
    ],
    // kube-prometheus-stack's KubeNodeUnreachable: kube_node_spec_taint's key and effect.
    [
      'KubeNodeUnreachable, taint still on',
      unreachable,
      node({ Ready: 'Unknown' }, [[unreachable.key, unreachable.effect]]),
      false,
    ],
    ['KubeNodeUnreachable, taint gone', unreachable, node({ Ready: 'True' }), true],
  ])('%s', (_name, labels, n, expected) => {
    expect(conditionHealthy(n, labels)).toBe(expected);
  });
});
