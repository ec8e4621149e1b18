// NODEHEAL_CLUSTER: which alerts are this cluster's (pure), and heal keys that carry the cluster.
import { describe, expect, it } from 'vitest';
import { clusterCheck } from '../../../src/intake/normalise.ts';
import { dedupeKey } from '../../../src/triage/index.ts';

const scope = { name: 'east', label: 'cluster' };

describe('clusterCheck', () => {
  it.each([
    ['no scope: every alert is ours', { cluster: 'west' }, undefined, true, undefined],
    ['our cluster', { cluster: 'east' }, scope, true, undefined],
    ['another cluster', { cluster: 'west' }, scope, false, 'other_cluster'],
    ['no cluster label', {}, scope, false, 'no_cluster'],
    ['an empty cluster label', { cluster: '' }, scope, false, 'no_cluster'],
    [
      'a configured label name',
      { k8s_cluster: 'east' },
      { name: 'east', label: 'k8s_cluster' },
      true,
      undefined,
    ],
  ] as const)('%s', (_what, labels, s, ok, reason) => {
    const result = clusterCheck(labels, s);
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.reason).toBe(reason);
  });
});

describe('dedupeKey with a cluster', () => {
  it('carries the cluster, so nodes of the same name in two clusters never share a heal', () => {
    expect(dedupeKey('worker-1', 'kernel-deadlock')).toBe('heal:worker-1:kernel-deadlock');
    expect(dedupeKey('worker-1', 'kernel-deadlock', 'east')).toBe(
      'heal:east/worker-1:kernel-deadlock',
    );
    expect(dedupeKey('worker-1', 'kernel-deadlock', 'east')).not.toBe(
      dedupeKey('worker-1', 'kernel-deadlock', 'west'),
    );
  });
});
