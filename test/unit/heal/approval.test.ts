// `approval: outage`: when a disruptive step of a heal waits for an operator, goes, or ends.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  approvalAnswer,
  approvalFor,
  approvalRulesSchema,
  outageCauses,
  type ApprovalDecision,
  type ApprovalQuestion,
  type HealCost,
  type PodCost,
} from '../../../src/heal/index.ts';

const HEAL = 'heal-7';

function node(options: { ready?: boolean; annotations?: Record<string, string> } = {}): V1Node {
  return {
    metadata: {
      name: 'n1',
      labels: { 'nodeheal.io/pool': 'db' },
      annotations: options.annotations ?? {},
      managedFields: [
        {
          manager: 'kubectl-annotate',
          operation: 'Update',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': { 'f:nodeheal.io/approve': {}, 'f:nodeheal.io/reject': {} },
            },
          },
        },
      ],
    },
    status: {
      conditions: [{ type: 'Ready', status: options.ready === false ? 'Unknown' : 'True' }],
    },
  };
}

function pod(name: string, extra: Partial<PodCost>): PodCost {
  return {
    pod: `shop/${name}`,
    kind: 'replicated',
    owner: `ReplicaSet/${name}`,
    replicas: 3,
    localData: [],
    pdbs: [],
    ...extra,
  };
}

const cost = (pods: PodCost[]): HealCost => ({ at: 1, pods, pdbs: [], unreadPdbs: [] });
const replicatedOnly = cost([pod('web', {})]);
const singleReplica = cost([
  pod('web', {}),
  pod('db-0', { kind: 'single-replica', owner: 'StatefulSet/db', replicas: 1 }),
]);

function ask(extra: Partial<ApprovalQuestion>) {
  return approvalAnswer({
    healId: HEAL,
    mode: 'outage',
    action: 'drain',
    node: node(),
    cost: singleReplica,
    stored: undefined,
    now: 1000,
    ...extra,
  });
}

const decision = (d: ApprovalDecision['decision'], healId = HEAL): ApprovalDecision => ({
  healId,
  decision: d,
  by: 'admin-api (ana)',
  reason: 'checked with the db team',
  at: 5,
});

describe('approvalFor', () => {
  const rules = approvalRulesSchema.parse([
    { selector: { 'nodeheal.io/pool': 'db' }, approval: 'outage' },
    { selector: {}, approval: 'none' },
  ]);

  it('takes the fault’s own setting first, then the first pool rule that matches', () => {
    expect(approvalFor('outage', [], {})).toBe('outage');
    expect(approvalFor(undefined, rules, { 'nodeheal.io/pool': 'db' })).toBe('outage');
    expect(approvalFor(undefined, rules, { 'nodeheal.io/pool': 'web' })).toBe('none');
    expect(approvalFor('none', rules, { 'nodeheal.io/pool': 'db' })).toBe('outage');
    expect(approvalFor(undefined, [], {})).toBe('none');
  });

  it('refuses an unknown mode or a stray field', () => {
    expect(approvalRulesSchema.safeParse([{ selector: {}, approval: 'always' }]).success).toBe(
      false,
    );
    expect(
      approvalRulesSchema.safeParse([{ selector: {}, approval: 'outage', pools: ['db'] }]).success,
    ).toBe(false);
  });
});

describe('outageCauses', () => {
  it('names workloads left without a replica, pods nothing recreates and local data', () => {
    const causes = outageCauses(
      cost([
        pod('web', {}),
        pod('db-0', { kind: 'single-replica', owner: 'StatefulSet/db', replicas: 1 }),
        pod('scratch', { kind: 'unmanaged', owner: null, replicas: null, localData: ['emptyDir'] }),
        pod('agent', { kind: 'daemonset', owner: 'DaemonSet/agent', localData: ['emptyDir'] }),
      ]),
    );
    expect(causes).toEqual([
      'no Ready replica left of StatefulSet/db',
      'nothing recreates shop/scratch',
      'local data lost of shop/scratch',
    ]);
  });

  it('is empty for replicated pods (and DaemonSet pods, which stay)', () => {
    expect(outageCauses(replicatedOnly)).toEqual([]);
  });
});

describe('approvalAnswer', () => {
  it('holds a drain of a Ready node that would leave a workload without a replica', () => {
    expect(ask({})).toEqual({
      kind: 'wait',
      detail: 'drain of a Ready node waits for approval: no Ready replica left of StatefulSet/db',
    });
  });

  it.each([
    ['approval not asked for', { mode: 'none' as const }],
    ['a step that disrupts nothing', { action: 'cordon' as const }],
    ['a remedy on the host', { action: 'restart-kubelet' as const }],
    ['a node that is not Ready (already an outage)', { node: node({ ready: false }) }],
    ['a disruption that is no outage', { cost: replicatedOnly }],
  ])('lets the step go: %s', (_name, extra) => {
    expect(ask(extra)).toEqual({ kind: 'go' });
  });

  it.each([['reboot' as const], ['replace' as const]])('holds %s like drain', (action) => {
    expect(ask({ action }).kind).toBe('wait');
  });

  it('holds when what the step would disrupt is unknown', () => {
    expect(ask({ cost: undefined })).toEqual({
      kind: 'wait',
      detail: 'drain of a Ready node waits for approval: what it would disrupt is unknown',
    });
  });

  it('goes once approved through the admin API, and ends when rejected', () => {
    expect(ask({ stored: decision('approved') })).toEqual({
      kind: 'go',
      approved: decision('approved'),
    });
    expect(ask({ stored: decision('rejected') })).toEqual({
      kind: 'rejected',
      decision: decision('rejected'),
    });
  });

  it('reads the Node’s annotations for this heal only, naming who set them', () => {
    const approved = ask({ node: node({ annotations: { 'nodeheal.io/approve': HEAL } }) });
    expect(approved).toEqual({
      kind: 'go',
      approved: {
        healId: HEAL,
        decision: 'approved',
        by: 'annotation nodeheal.io/approve (by kubectl-annotate)',
        reason: '',
        at: 1000,
      },
    });
    const rejected = ask({ node: node({ annotations: { 'nodeheal.io/reject': ` ${HEAL} ` } }) });
    expect(rejected).toMatchObject({ kind: 'rejected', decision: { decision: 'rejected' } });
    // An annotation left from another heal decides nothing for this one.
    expect(ask({ node: node({ annotations: { 'nodeheal.io/approve': 'heal-6' } }) }).kind).toBe(
      'wait',
    );
  });

  it('a rejection wins over an approval, wherever each came from', () => {
    const both = node({
      annotations: { 'nodeheal.io/approve': HEAL, 'nodeheal.io/reject': HEAL },
    });
    expect(ask({ node: both }).kind).toBe('rejected');
    expect(
      ask({
        node: node({ annotations: { 'nodeheal.io/approve': HEAL } }),
        stored: decision('rejected'),
      }).kind,
    ).toBe('rejected');
    expect(
      ask({
        node: node({ annotations: { 'nodeheal.io/reject': HEAL } }),
        stored: decision('approved'),
      }).kind,
    ).toBe('rejected');
  });
});
