import { describe, expect, it } from 'vitest';
import {
  CONTROL_PLANE_LABELS,
  DAY_MS,
  EMPTY_BUDGET_STATE,
  OPT_OUT_LABEL,
  checkGates,
  isControlPlane,
  isOptedOut,
  type BlockingGate,
  type BudgetState,
  type GateInput,
  type InFlightHeal,
  type StormState,
} from '../../../src/safety/index.ts';
import { LABEL_EXCLUDE } from '../../../src/actions/interfaces.ts';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const SEC = 1_000;
const MIN = 60 * SEC;
const NOW = new Date(T0);

const CP = { 'node-role.kubernetes.io/control-plane': '' };

function base(): GateInput {
  return {
    healId: 'heal-A',
    node: 'worker-1',
    labels: { 'kubernetes.io/hostname': 'worker-1' },
    pool: 'general',
    action: 'restart-kubelet',
    paused: false,
    dryRun: false,
    budget: {
      ...EMPTY_BUDGET_STATE,
      pools: {
        general: { total: 10, unhealthy: 1 },
        batch: { total: 10, unhealthy: 0 },
        'control-plane': { total: 3, unhealthy: 1 },
      },
    },
  };
}

function flight(node: string, pool = 'general', extra: Partial<InFlightHeal> = {}): InFlightHeal {
  return { healId: `heal-${node}`, node, pool, controlPlane: false, since: T0 - MIN, ...extra };
}

type Patch = (i: GateInput) => GateInput;

/** The base input with `patch` applied. */
function input(patch: Patch): GateInput {
  return patch(base());
}

function withFlight(...entries: InFlightHeal[]): Patch {
  return (i) => ({ ...i, budget: { ...i.budget, inFlight: entries } });
}

function withHistory(heals: number[], lastHealEndedAt?: number, own = false): Patch {
  return (i) => ({
    ...i,
    budget: {
      ...i.budget,
      nodes: {
        'worker-1': {
          heals: heals.map((startedAt, n) => ({
            healId: own && n === 0 ? 'heal-A' : `old-${n}`,
            startedAt,
          })),
          ...(lastHealEndedAt === undefined ? {} : { lastHealEndedAt }),
        },
      },
    },
  });
}

function pool(total: number, unhealthy: number, storm?: StormState): Patch {
  return (i) => {
    const storms: BudgetState['storms'] = storm === undefined ? {} : { general: storm };
    return {
      ...i,
      budget: { ...i.budget, pools: { ...i.budget.pools, general: { total, unhealthy } }, storms },
    };
  };
}

function compose(...patches: Patch[]): Patch {
  return (i) => patches.reduce((acc, p) => p(acc), i);
}

interface Case {
  name: string;
  input: GateInput;
  /** undefined: allowed. */
  gate?: BlockingGate;
  defer?: boolean;
  retryAt?: number;
  detail?: RegExp;
  holdsSlot?: boolean;
  dryRun?: boolean;
}

const cases: Case[] = [
  // Allowed.
  {
    name: 'a healthy pool, nothing in flight: allowed',
    input: base(),
    holdsSlot: false,
    dryRun: false,
  },
  {
    name: 'dry run is a flag, not a block',
    input: input((i) => ({ ...i, dryRun: true })),
    dryRun: true,
  },

  // Pause.
  {
    name: 'paused',
    input: input((i) => ({ ...i, paused: true })),
    gate: 'paused',
    defer: true,
    detail: /paused/,
  },

  // Opt-out: only the exact value "true".
  {
    name: 'opt-out label true',
    input: input((i) => ({ ...i, labels: { [OPT_OUT_LABEL]: 'true' } })),
    gate: 'opt-out',
    defer: false,
    detail: /^worker-1 is labelled nodeheal.io\/exclude=true$/,
  },
  {
    name: 'opt-out label True does not count',
    input: input((i) => ({ ...i, labels: { [OPT_OUT_LABEL]: 'True' } })),
  },
  {
    name: 'opt-out label empty does not count',
    input: input((i) => ({ ...i, labels: { [OPT_OUT_LABEL]: '' } })),
  },
  {
    name: 'opt-out label yes does not count',
    input: input((i) => ({ ...i, labels: { [OPT_OUT_LABEL]: 'yes' } })),
  },
  {
    name: 'opt-out label false',
    input: input((i) => ({ ...i, labels: { [OPT_OUT_LABEL]: 'false' } })),
  },
  {
    name: 'opt-out label " true" (space) does not count',
    input: input((i) => ({ ...i, labels: { [OPT_OUT_LABEL]: ' true' } })),
  },

  // Control plane: expert remedies only, one at a time.
  {
    name: 'control plane: restart-kubelet allowed',
    input: input((i) => ({ ...i, labels: CP, pool: 'control-plane' })),
  },
  {
    name: 'control plane (master label): reboot allowed',
    input: input((i) => ({
      ...i,
      labels: { 'node-role.kubernetes.io/master': 'true' },
      pool: 'control-plane',
      action: 'reboot',
    })),
  },
  ...(['cordon', 'drain', 'replace'] as const).map((action) => ({
    name: `control plane: ${action} blocked`,
    input: input((i) => ({ ...i, labels: CP, pool: 'control-plane', action })),
    gate: 'control-plane' as const,
    defer: false,
    detail: new RegExp(`only expert remedies run there, not ${action}`),
  })),
  ...(['cordon', 'drain', 'replace'] as const).map((action) => ({
    name: `control plane: ${action} allowed with allowControlPlaneReplace`,
    input: input((i) => ({
      ...i,
      labels: CP,
      pool: 'control-plane',
      action,
      config: { allowControlPlaneReplace: true },
    })),
  })),
  {
    name: 'control plane: another control-plane node in flight blocks a new heal',
    input: input(
      compose(
        (i) => ({ ...i, labels: CP, pool: 'control-plane' }),
        withFlight(flight('cp-2', 'control-plane', { controlPlane: true })),
      ),
    ),
    gate: 'control-plane',
    defer: true,
    detail: /control-plane node cp-2 is already being healed; one at a time/,
  },
  {
    name: 'control plane: a heal holding its slot goes on while another is in flight',
    input: input(
      compose(
        (i) => ({ ...i, labels: CP, pool: 'control-plane' }),
        withFlight(
          flight('worker-1', 'control-plane', { healId: 'heal-A', controlPlane: true }),
          flight('cp-2', 'control-plane', { controlPlane: true }),
        ),
      ),
    ),
    holdsSlot: true,
  },
  {
    name: 'control plane: another fault of the same node in flight does not count',
    input: input(
      compose(
        (i) => ({ ...i, labels: CP, pool: 'control-plane' }),
        withFlight(flight('worker-1', 'control-plane', { healId: 'heal-B', controlPlane: true })),
      ),
    ),
    holdsSlot: false,
  },
  {
    name: 'a worker is not limited by a control-plane node in flight',
    input: input(withFlight(flight('cp-2', 'control-plane', { controlPlane: true }))),
  },

  // Storm: > 20 % and > 2 nodes (EKS 20 %), cooldown 5 min after recovery (NHC).
  {
    name: 'storm: pool health unknown blocks (when unsure, do nothing)',
    input: input((i) => ({ ...i, pool: 'gpu' })),
    gate: 'storm',
    defer: true,
    detail: /health of pool gpu is unknown/,
  },
  {
    name: 'storm: 3 of 10 unhealthy (30 %, 3 nodes)',
    input: input(pool(10, 3)),
    gate: 'storm',
    defer: true,
    detail:
      /^storm in pool general since 2025-03-01T12:00:00.000Z: 3 of 10 nodes \(30%\) unhealthy$/,
  },
  {
    name: 'storm: 2 of 10 (exactly 20 %, exactly 2 nodes) is not a storm',
    input: input(pool(10, 2)),
  },
  { name: 'storm: 3 of 15 (exactly 20 %) is not a storm', input: input(pool(15, 3)) },
  { name: 'storm: 2 of 5 (40 %, exactly 2 nodes) is not a storm', input: input(pool(5, 2)) },
  {
    name: 'storm: 3 of 14 (21.4 %, 3 nodes) is a storm',
    input: input(pool(14, 3)),
    gate: 'storm',
    defer: true,
  },
  {
    name: 'storm: 3 of 3 in a tiny pool is a storm',
    input: input(pool(3, 3)),
    gate: 'storm',
    defer: true,
  },
  { name: 'storm: an empty pool is not a storm', input: input(pool(0, 0)) },
  {
    name: 'storm: threshold 35 % (Elastx) lets 3 of 10 through',
    input: input(compose(pool(10, 3), (i) => ({ ...i, config: { stormThreshold: 0.35 } }))),
  },
  {
    name: 'storm: an active storm whose share just fell to 20 % is recovering: 5 min cooldown',
    input: input(pool(10, 2, { activeSince: T0 - 10 * MIN })),
    gate: 'storm',
    defer: true,
    retryAt: T0 + 5 * MIN,
    detail: /recovering from a storm: 2 of 10 nodes \(20%\) unhealthy; cooldown ends in 5m$/,
  },
  {
    name: 'storm: 1 ms before the cooldown ends: still blocked',
    input: input(pool(10, 1, { activeSince: T0 - 10 * MIN, recoveredAt: T0 - 5 * MIN + 1 })),
    gate: 'storm',
    retryAt: T0 + 1,
  },
  {
    name: 'storm: cooldown over exactly 5 min after recovery: allowed',
    input: input(pool(10, 1, { activeSince: T0 - 10 * MIN, recoveredAt: T0 - 5 * MIN })),
  },
  {
    name: 'storm: an active storm with 2 of 5 (40 %) has not recovered',
    input: input(pool(5, 2, { activeSince: T0 - 10 * MIN, recoveredAt: T0 - 9 * MIN })),
    gate: 'storm',
    detail: /^storm in pool general since/,
  },
  {
    name: 'storm: blocks a heal that already holds its slot',
    input: input(
      compose(pool(10, 4), withFlight(flight('worker-1', 'general', { healId: 'heal-A' }))),
    ),
    gate: 'storm',
  },
  {
    name: 'storm in another pool does not matter',
    input: input((i) => ({
      ...i,
      budget: { ...i.budget, pools: { ...i.budget.pools, batch: { total: 4, unhealthy: 4 } } },
    })),
  },

  // Daily cap: after 3 heals in 24 h, replace or abandon.
  {
    name: 'daily cap: 3 heals in 24 h block restart-kubelet',
    input: input(withHistory([T0 - 20 * 60 * MIN, T0 - 10 * 60 * MIN, T0 - 2 * 60 * MIN])),
    gate: 'daily-cap',
    defer: false,
    retryAt: T0 - 20 * 60 * MIN + DAY_MS,
    detail:
      /healed 3 times in the last 24h \(cap 3\): no more restart-kubelet; replace it or leave it to a human/,
  },
  {
    name: 'daily cap: 4 heals, the block lifts when the 2nd oldest is a day old',
    input: input(withHistory([T0 - 3 * MIN, T0 - 23 * 60 * MIN, T0 - 2 * MIN, T0 - 22 * 60 * MIN])),
    gate: 'daily-cap',
    retryAt: T0 - 22 * 60 * MIN + DAY_MS,
  },
  ...(['replace', 'drain', 'cordon'] as const).map((action) => ({
    name: `daily cap: ${action} still allowed`,
    input: input(
      compose(withHistory([T0 - 3 * 60 * MIN, T0 - 2 * 60 * MIN, T0 - 60 * MIN]), (i) => ({
        ...i,
        action,
      })),
    ),
  })),
  {
    name: 'daily cap: 2 heals in 24 h',
    input: input(withHistory([T0 - 2 * 60 * MIN, T0 - 60 * MIN])),
  },
  {
    name: 'daily cap: a heal exactly 24 h ago no longer counts',
    input: input(withHistory([T0 - DAY_MS, T0 - 2 * 60 * MIN, T0 - 60 * MIN])),
  },
  {
    name: 'daily cap: a heal 24 h minus 1 ms ago still counts',
    input: input(withHistory([T0 - DAY_MS + 1, T0 - 2 * 60 * MIN, T0 - 60 * MIN])),
    gate: 'daily-cap',
    retryAt: T0 + 1,
  },
  {
    name: 'daily cap: the heal itself does not count',
    input: input(withHistory([T0 - MIN, T0 - 2 * 60 * MIN, T0 - 60 * MIN], undefined, true)),
  },
  {
    name: 'daily cap: applies to a heal holding its slot (its next remedy)',
    input: input(
      compose(
        withHistory([T0 - 3 * 60 * MIN, T0 - 2 * 60 * MIN, T0 - 60 * MIN]),
        withFlight(flight('worker-1', 'general', { healId: 'heal-A' })),
        (i) => ({ ...i, action: 'reboot' }),
      ),
    ),
    gate: 'daily-cap',
  },
  {
    name: 'daily cap: maxHealsPer24h 5',
    input: input(
      compose(withHistory([T0 - 3 * 60 * MIN, T0 - 2 * 60 * MIN, T0 - 60 * MIN]), (i) => ({
        ...i,
        config: { maxHealsPer24h: 5 },
      })),
    ),
  },

  // Cooldown: 30 min after the node's last heal ended.
  {
    name: 'cooldown: last heal ended 30 min minus 1 ms ago',
    input: input(withHistory([], T0 - 30 * MIN + 1)),
    gate: 'cooldown',
    defer: true,
    retryAt: T0 + 1,
    detail: /cooldown is 30m/,
  },
  { name: 'cooldown: exactly 30 min after: allowed', input: input(withHistory([], T0 - 30 * MIN)) },
  {
    name: 'cooldown: an operator took the last heal over: the same fault waits',
    input: input(
      compose(withHistory([], T0 - MIN), (i) => ({
        ...i,
        fault: 'kernel-deadlock',
        budget: {
          ...i.budget,
          nodes: {
            'worker-1': { ...i.budget.nodes['worker-1']!, takenOverFault: 'kernel-deadlock' },
          },
        },
      })),
    ),
    gate: 'cooldown',
    defer: true,
    retryAt: T0 + 29 * MIN,
    detail: /cooldown is 30m/,
  },
  {
    name: 'cooldown: an operator took the last heal over: a new fault of the node is healed',
    input: input(
      compose(withHistory([], T0 - MIN), (i) => ({
        ...i,
        fault: 'memory-pressure',
        budget: {
          ...i.budget,
          nodes: {
            'worker-1': { ...i.budget.nodes['worker-1']!, takenOverFault: 'kernel-deadlock' },
          },
        },
      })),
    ),
  },
  {
    name: 'cooldown: after a heal that ended on its own, a new fault waits too',
    input: input(compose(withHistory([], T0 - MIN), (i) => ({ ...i, fault: 'memory-pressure' }))),
    gate: 'cooldown',
    defer: true,
    retryAt: T0 + 29 * MIN,
    detail: /cooldown is 30m/,
  },
  {
    name: 'cooldown: a heal holding its slot is not stopped by a later end of another heal',
    input: input(
      compose(
        withHistory([], T0 - MIN),
        withFlight(flight('worker-1', 'general', { healId: 'heal-A' })),
      ),
    ),
    holdsSlot: true,
  },
  {
    name: 'cooldown: nodeCooldownMs 20 min (OCI), ended 25 min ago',
    input: input(
      compose(withHistory([], T0 - 25 * MIN), (i) => ({
        ...i,
        config: { nodeCooldownMs: 20 * MIN },
      })),
    ),
  },

  // Pool budget: 1 node per pool.
  {
    name: 'pool budget: another node of the pool in flight',
    input: input(withFlight(flight('worker-2'))),
    gate: 'pool-budget',
    defer: true,
    detail: /^pool general already has 1 node\(s\) in flight \(worker-2\); budget 1$/,
  },
  {
    name: 'pool budget: a node of another pool in flight',
    input: input(withFlight(flight('batch-1', 'batch'))),
  },
  {
    name: 'pool budget: the heal holding the slot is not blocked by its own slot',
    input: input(withFlight(flight('worker-1', 'general', { healId: 'heal-A' }))),
    holdsSlot: true,
  },
  {
    name: 'pool budget: a heal holding its slot goes on when the pool is over budget',
    input: input(
      withFlight(flight('worker-1', 'general', { healId: 'heal-A' }), flight('worker-2')),
    ),
    holdsSlot: true,
  },
  {
    name: 'pool budget: another fault of the same node does not count',
    input: input(withFlight(flight('worker-1', 'general', { healId: 'heal-B' }))),
    holdsSlot: false,
  },
  {
    name: 'pool budget 2: one other node fits',
    input: input(
      compose(withFlight(flight('worker-2')), (i) => ({ ...i, config: { poolBudget: 2 } })),
    ),
  },
  {
    name: 'pool budget 2: two other nodes do not',
    input: input(
      compose(withFlight(flight('worker-2'), flight('worker-3')), (i) => ({
        ...i,
        config: { poolBudget: 2 },
      })),
    ),
    gate: 'pool-budget',
  },
  {
    name: 'pool budget 2: two heals of one other node count once',
    input: input(
      compose(
        withFlight(flight('worker-2'), flight('worker-2', 'general', { healId: 'heal-C' })),
        (i) => ({
          ...i,
          config: { poolBudget: 2 },
        }),
      ),
    ),
  },
  {
    name: 'pool budget 0 stops every new heal',
    input: input((i) => ({ ...i, config: { poolBudget: 0 } })),
    gate: 'pool-budget',
  },

  // Cluster budget: 3 nodes.
  {
    name: 'cluster budget: 3 other nodes in flight',
    input: input(
      withFlight(
        flight('batch-1', 'batch'),
        flight('cp-1', 'control-plane'),
        flight('gpu-1', 'gpu'),
      ),
    ),
    gate: 'cluster-budget',
    defer: true,
    detail: /^3 node\(s\) in flight in the cluster \(batch-1, cp-1, gpu-1\); budget 3$/,
  },
  {
    name: 'cluster budget: 2 other nodes in flight',
    input: input(withFlight(flight('batch-1', 'batch'), flight('cp-1', 'control-plane'))),
  },
  {
    name: 'cluster budget 5: 3 other nodes fit',
    input: input(
      compose(
        withFlight(
          flight('batch-1', 'batch'),
          flight('cp-1', 'control-plane'),
          flight('gpu-1', 'gpu'),
        ),
        (i) => ({
          ...i,
          config: { clusterBudget: 5 },
        }),
      ),
    ),
  },
  {
    name: 'cluster budget: a heal holding its slot goes on',
    input: input(
      withFlight(
        flight('worker-1', 'general', { healId: 'heal-A' }),
        flight('batch-1', 'batch'),
        flight('cp-1', 'control-plane'),
        flight('gpu-1', 'gpu'),
      ),
    ),
    holdsSlot: true,
  },

  // Order: the first blocking gate wins.
  {
    name: 'order: paused before opt-out',
    input: input((i) => ({ ...i, paused: true, labels: { [OPT_OUT_LABEL]: 'true' } })),
    gate: 'paused',
  },
  {
    name: 'order: opt-out before storm',
    input: input(compose(pool(10, 5), (i) => ({ ...i, labels: { [OPT_OUT_LABEL]: 'true' } }))),
    gate: 'opt-out',
  },
  {
    name: 'order: control-plane action before storm',
    input: input(compose(pool(10, 5), (i) => ({ ...i, labels: CP, action: 'drain' }))),
    gate: 'control-plane',
  },
  {
    name: 'order: storm before daily cap',
    input: input(compose(pool(10, 5), withHistory([T0 - 3 * MIN, T0 - 2 * MIN, T0 - MIN]))),
    gate: 'storm',
  },
  {
    name: 'order: daily cap before cooldown',
    input: input(withHistory([T0 - 3 * MIN, T0 - 2 * MIN, T0 - MIN], T0 - MIN)),
    gate: 'daily-cap',
  },
  {
    name: 'order: cooldown before pool budget',
    input: input(compose(withHistory([], T0 - MIN), withFlight(flight('worker-2')))),
    gate: 'cooldown',
  },
  {
    name: 'order: pool budget before cluster budget',
    input: input(
      withFlight(flight('worker-2'), flight('cp-1', 'control-plane'), flight('gpu-1', 'gpu')),
    ),
    gate: 'pool-budget',
  },
];

describe('checkGates', () => {
  it.each(cases)('$name', (c) => {
    const result = checkGates(c.input, NOW);
    if (c.gate === undefined) {
      expect(result).toEqual({
        allowed: true,
        dryRun: c.dryRun ?? false,
        holdsSlot: c.holdsSlot ?? false,
      });
      return;
    }
    expect(result.allowed).toBe(false);
    if (result.allowed) return;
    expect(result.gate).toBe(c.gate);
    expect(result.detail.length).toBeGreaterThan(0);
    if (c.defer !== undefined) expect(result.defer).toBe(c.defer);
    if (c.retryAt !== undefined) expect(result.retryAt).toBe(c.retryAt);
    if (c.detail !== undefined) expect(result.detail).toMatch(c.detail);
  });

  it('does not change its input', () => {
    const i = input(
      compose(pool(10, 2, { activeSince: T0 - MIN }), withFlight(flight('worker-2'))),
    );
    const copy = structuredClone(i);
    checkGates(i, NOW);
    expect(i).toEqual(copy);
  });
});

describe('labels', () => {
  it('the opt-out label is the one the actions use', () => {
    expect(OPT_OUT_LABEL).toBe(LABEL_EXCLUDE);
  });

  it.each<[Record<string, string>, boolean]>([
    [{ [OPT_OUT_LABEL]: 'true' }, true],
    [{ [OPT_OUT_LABEL]: 'TRUE' }, false],
    [{ [OPT_OUT_LABEL]: '1' }, false],
    [{ 'nodeheal.io/exclude-not': 'true' }, false],
    [{}, false],
  ])('isOptedOut(%o) = %s', (labels, expected) => {
    expect(isOptedOut(labels)).toBe(expected);
  });

  it.each<[Record<string, string>, boolean]>([
    [{ [CONTROL_PLANE_LABELS[0]]: '' }, true],
    [{ [CONTROL_PLANE_LABELS[1]]: '' }, true],
    [{ [CONTROL_PLANE_LABELS[0]]: 'false' }, true],
    [{ 'node-role.kubernetes.io/worker': '' }, false],
    [{}, false],
  ])('isControlPlane(%o) = %s', (labels, expected) => {
    expect(isControlPlane(labels)).toBe(expected);
  });
});
