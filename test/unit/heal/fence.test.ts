// When an unreachable node's workloads may move: the fence rules (pure, fake clock).
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { fenceWithoutProvider, needsFence, type FenceInputs } from '../../../src/heal/fence.ts';
import { newHealRecord } from '../../../src/heal/heal-record.ts';
import { nextStep } from '../../../src/heal/next-step.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');

const node = (ready?: 'True' | 'False' | 'Unknown'): V1Node => ({
  metadata: { name: 'n1', uid: 'u1' },
  status: { conditions: ready ? [{ type: 'Ready', status: ready }] : [] },
});

describe('needsFence', () => {
  it.each([
    ['Ready Unknown: the kubelet stopped reporting', 'Unknown', true],
    ['no Ready condition', undefined, true],
    ['Ready False: the kubelet answers', 'False', false],
    ['Ready True', 'True', false],
  ] as const)('%s → %s', (_what, ready, expected) => {
    expect(needsFence(node(ready))).toBe(expected);
  });
});

const base: FenceInputs = {
  confirmation: undefined,
  healId: 'heal-1',
  selfFence: undefined,
  lastHeardAt: undefined,
  agentReachable: false,
};

describe('fenceWithoutProvider', () => {
  it.each<[string, Partial<FenceInputs>, number, string, string | undefined]>([
    ['nothing: wait for an operator', {}, T0, 'wait', undefined],
    [
      'operator confirmed this heal',
      {
        confirmation: { healId: 'heal-1', by: 'admin-api (ana)', at: T0 - 1000, reason: 'ILO off' },
      },
      T0,
      'fenced',
      'operator',
    ],
    [
      'a confirmation given for another heal does not count',
      { confirmation: { healId: 'heal-0', by: 'admin-api', at: T0 - 1000, reason: '' } },
      T0,
      'wait',
      undefined,
    ],
    [
      'self-fence pool, safe time not yet passed',
      { selfFence: { safeTimeSeconds: 90 }, lastHeardAt: T0 - 89_000 },
      T0,
      'wait',
      undefined,
    ],
    [
      'self-fence pool, safe time passed, agent unreachable',
      { selfFence: { safeTimeSeconds: 90 }, lastHeardAt: T0 - 90_000 },
      T0,
      'fenced',
      'self-fence',
    ],
    [
      'self-fence pool, safe time passed, but the agent answers: the node runs',
      { selfFence: { safeTimeSeconds: 90 }, lastHeardAt: T0 - 600_000, agentReachable: true },
      T0,
      'wait',
      undefined,
    ],
    [
      'self-fence pool, never heard from: no basis for the safe time',
      { selfFence: { safeTimeSeconds: 90 } },
      T0,
      'wait',
      undefined,
    ],
  ])('%s', (_what, input, now, kind, method) => {
    const decision = fenceWithoutProvider({ ...base, ...input }, now);
    expect(decision.kind).toBe(kind);
    if (decision.kind === 'fenced') expect(decision.fence.method).toBe(method);
  });

  it('a self-fence is dated at the safe time, not when nodeheal noticed', () => {
    const decision = fenceWithoutProvider(
      { ...base, selfFence: { safeTimeSeconds: 90 }, lastHeardAt: T0 },
      T0 + 300_000,
    );
    expect(decision).toMatchObject({ kind: 'fenced', fence: { at: T0 + 90_000, by: 'agent' } });
  });

  it('waiting for a self-fence says until when', () => {
    const decision = fenceWithoutProvider(
      { ...base, selfFence: { safeTimeSeconds: 90 }, lastHeardAt: T0 },
      T0 + 10_000,
    );
    expect(decision).toMatchObject({ kind: 'wait', until: T0 + 90_000 });
  });
});

describe('the heal machine records the fence', () => {
  const acting = () => {
    const fresh = newHealRecord({
      id: 'heal-1',
      node: 'n1',
      fault: 'node-not-ready',
      pool: 'p',
      ladder: [{ action: 'replace', timeoutMs: 600_000 }],
      faultStartedAt: T0 - 60_000,
      now: new Date(T0),
    });
    return nextStep(fresh, { kind: 'start' }, new Date(T0)).record;
  };
  const fence = { method: 'operator' as const, by: 'admin-api', at: T0 + 5000, detail: 'down' };

  it('notes the wait once per reason, then the fence, then the taint, in that order', () => {
    let r = acting();
    expect(r.stepState).toBe('acting');
    const wait = { kind: 'awaiting-fence' as const, step: 0, detail: 'no provider can fence' };
    r = nextStep(r, wait, new Date(T0 + 1000)).record;
    const again = nextStep(r, wait, new Date(T0 + 2000));
    expect(again.changed).toBe(false);
    r = nextStep(r, { kind: 'fenced', step: 0, fence }, new Date(T0 + 5000)).record;
    expect(r.fence).toEqual(fence);
    r = nextStep(r, { kind: 'out-of-service', step: 0, at: T0 + 6000 }, new Date(T0 + 6000)).record;
    expect(r.outOfServiceAt).toBe(T0 + 6000);
    expect(r.transitions.map((t) => t.kind)).toEqual([
      'started',
      'awaiting-fence',
      'fenced',
      'out-of-service',
    ]);
    expect(r.stepState).toBe('acting');
  });

  it('ignores a second fence and a wait after the fence', () => {
    let r = acting();
    r = nextStep(r, { kind: 'fenced', step: 0, fence }, new Date(T0 + 5000)).record;
    const other = { ...fence, method: 'provider' as const, by: 'kwok' };
    expect(
      nextStep(r, { kind: 'fenced', step: 0, fence: other }, new Date(T0 + 6000)).changed,
    ).toBe(false);
    const wait = { kind: 'awaiting-fence' as const, step: 0, detail: 'x' };
    expect(nextStep(r, wait, new Date(T0 + 7000)).changed).toBe(false);
  });
});
