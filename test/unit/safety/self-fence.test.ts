import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SELF_FENCE_SETTINGS,
  INITIAL_SELF_FENCE_STATE,
  selfFenceApplies,
  selfFenceDecision,
  selfFenceRebootFailed,
  selfFenceSafeTimeSeconds,
  selfFenceSettingsSchema,
  selfFenceWorkerSchema,
  type SelfFenceProbe,
  type SelfFenceReason,
  type SelfFenceState,
} from '../../../src/safety/index.ts';

const S = 1000;
const settings = { unreachableSeconds: 60 };
const up: SelfFenceProbe = { apiserver: true, peersReachable: 0 };
const peerOnly: SelfFenceProbe = { apiserver: false, peersReachable: 1 };
const down: SelfFenceProbe = { apiserver: false, peersReachable: 0 };
const state = (s: Partial<SelfFenceState>): SelfFenceState => ({
  ...INITIAL_SELF_FENCE_STATE,
  ...s,
});

describe('selfFenceDecision: one check', () => {
  it.each<[string, SelfFenceState, SelfFenceProbe, number, 'none' | 'reboot', SelfFenceReason]>([
    [
      'never reached anything: not armed',
      INITIAL_SELF_FENCE_STATE,
      down,
      3600 * S,
      'none',
      'not-armed',
    ],
    ['first contact arms', INITIAL_SELF_FENCE_STATE, up, 10 * S, 'none', 'armed'],
    ['a peer alone arms', INITIAL_SELF_FENCE_STATE, peerOnly, 10 * S, 'none', 'armed'],
    ['contact keeps it armed', state({ lastContactAt: 0 }), up, 5 * S, 'none', 'contact'],
    ['a peer alone is contact', state({ lastContactAt: 0 }), peerOnly, 90 * S, 'none', 'contact'],
    [
      'no contact for 59.999 s: waiting',
      state({ lastContactAt: 0 }),
      down,
      59_999,
      'none',
      'waiting',
    ],
    [
      'no contact for exactly 60 s: reboot',
      state({ lastContactAt: 0 }),
      down,
      60 * S,
      'reboot',
      'unreachable',
    ],
    [
      'no contact for an hour: reboot',
      state({ lastContactAt: 0 }),
      down,
      3600 * S,
      'reboot',
      'unreachable',
    ],
    [
      'already fenced this outage',
      state({ lastContactAt: 0, fencedAt: 60 * S }),
      down,
      600 * S,
      'none',
      'already-fenced',
    ],
    [
      'contact after a fence re-arms',
      state({ lastContactAt: 0, fencedAt: 60 * S }),
      peerOnly,
      70 * S,
      'none',
      're-armed',
    ],
    [
      'failed reboot: next attempt waits a full period',
      state({ lastContactAt: 0, failedRebootAt: 61 * S }),
      down,
      120 * S,
      'none',
      'waiting',
    ],
    [
      'failed reboot: retried a full period later',
      state({ lastContactAt: 0, failedRebootAt: 61 * S }),
      down,
      121 * S,
      'reboot',
      'unreachable',
    ],
    [
      'contact after a failed reboot re-arms',
      state({ lastContactAt: 0, failedRebootAt: 61 * S }),
      up,
      62 * S,
      'none',
      're-armed',
    ],
    [
      'a clock that went back counts as no time passed',
      state({ lastContactAt: 100 * S }),
      down,
      50 * S,
      'none',
      'waiting',
    ],
  ])('%s', (_name, before, probe, now, action, reason) => {
    const decision = selfFenceDecision(before, probe, now, settings);
    expect(decision.action).toBe(action);
    expect(decision.reason).toBe(reason);
    if (action === 'reboot') expect(decision.state.fencedAt).toBe(now);
    if (probe.apiserver || probe.peersReachable > 0) {
      expect(decision.state).toEqual({
        lastContactAt: now,
        fencedAt: undefined,
        failedRebootAt: undefined,
      });
    }
  });
});

/** Runs checks every `interval` ms with a fake clock; returns the times a reboot was decided. */
function simulate(
  probes: (t: number) => SelfFenceProbe,
  until: number,
  interval = 5 * S,
  unreachableSeconds = 60,
): { reboots: number[]; reasons: Map<number, SelfFenceReason> } {
  let s: SelfFenceState = INITIAL_SELF_FENCE_STATE;
  const reboots: number[] = [];
  const reasons = new Map<number, SelfFenceReason>();
  for (let t = 0; t <= until; t += interval) {
    const d = selfFenceDecision(s, probes(t), t, { unreachableSeconds });
    s = d.state;
    reasons.set(t, d.reason);
    if (d.action === 'reboot') reboots.push(t);
  }
  return { reboots, reasons };
}

describe('selfFenceDecision: a sequence of checks (fake clock, a check every 5 s)', () => {
  it.each<[string, (t: number) => SelfFenceProbe, number, number[]]>([
    ['always reachable: never', () => up, 600 * S, []],
    ['never reachable since start: never (a joining node)', () => down, 600 * S, []],
    [
      'reachable until 100 s: once, at 160 s',
      (t) => (t <= 100 * S ? up : down),
      600 * S,
      [160 * S],
    ],
    ['only a peer after 100 s: never', (t) => (t <= 100 * S ? up : peerOnly), 600 * S, []],
    [
      'down 100-150 s (shorter than 60 s): never',
      (t) => (t > 100 * S && t < 150 * S ? down : up),
      600 * S,
      [],
    ],
    [
      'two outages with contact between: once each',
      (t) => (t <= 100 * S || (t >= 300 * S && t <= 310 * S) ? up : down),
      600 * S,
      [160 * S, 370 * S],
    ],
    ['contact flickering every 55 s: never', (t) => (t % (55 * S) === 0 ? up : down), 600 * S, []],
  ])('%s', (_name, probes, until, expected) => {
    expect(simulate(probes, until).reboots).toEqual(expected);
  });

  it('a reboot that failed is retried one full period later, and then not again', () => {
    let s: SelfFenceState = selfFenceDecision(INITIAL_SELF_FENCE_STATE, up, 0, settings).state;
    const reboots: number[] = [];
    for (let t = 5 * S; t <= 600 * S; t += 5 * S) {
      const d = selfFenceDecision(s, down, t, settings);
      s = d.state;
      if (d.action === 'reboot') {
        reboots.push(t);
        // The first attempt fails at once; the second succeeds (the node would go down).
        if (reboots.length === 1) s = selfFenceRebootFailed(s, t);
      }
    }
    expect(reboots).toEqual([60 * S, 120 * S]);
  });
});

describe('selfFenceSafeTimeSeconds', () => {
  it.each<[Record<string, number>, number]>([
    [{}, 60 + 5 + 2 * 2 + 60],
    [
      {
        unreachableSeconds: 30,
        checkIntervalSeconds: 2,
        probeTimeoutSeconds: 1,
        rebootSeconds: 90,
      },
      30 + 2 + 2 + 90,
    ],
    [
      {
        unreachableSeconds: 3,
        checkIntervalSeconds: 0.5,
        probeTimeoutSeconds: 0.25,
        rebootSeconds: 1,
      },
      5,
    ],
    [
      {
        unreachableSeconds: 3,
        checkIntervalSeconds: 0.5,
        probeTimeoutSeconds: 0.3,
        rebootSeconds: 1,
      },
      6,
    ],
  ])('%o → %i s', (input, expected) => {
    const s = selfFenceSettingsSchema.parse(input);
    expect(selfFenceSafeTimeSeconds(s)).toBe(expected);
    // At least the three terms the fence is made of.
    expect(expected).toBeGreaterThanOrEqual(
      s.unreachableSeconds + s.checkIntervalSeconds + s.rebootSeconds,
    );
  });

  it('is never shorter than the time the simulated watchdog takes to decide, plus the reboot', () => {
    // Last contact at 100 s (any phase of the 5 s check grid): the reboot is decided within
    // unreachable + interval, and the node is down rebootSeconds later.
    for (const phase of [0, 1 * S, 2.5 * S, 4.999 * S]) {
      const lastContact = 100 * S + phase;
      const { reboots } = simulate((t) => (t <= lastContact ? up : down), 600 * S);
      const down_ = reboots[0]! + DEFAULT_SELF_FENCE_SETTINGS.rebootSeconds * S;
      expect(down_ - lastContact).toBeLessThanOrEqual(
        selfFenceSafeTimeSeconds(DEFAULT_SELF_FENCE_SETTINGS) * S,
      );
    }
  });
});

describe('selfFenceSettingsSchema', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_SELF_FENCE_SETTINGS).toEqual({
      unreachableSeconds: 60,
      checkIntervalSeconds: 5,
      probeTimeoutSeconds: 2,
      rebootSeconds: 60,
      maxPeersPerCheck: 8,
    });
  });

  it.each<[Record<string, number>, string, RegExp]>([
    [{ unreachableSeconds: 0 }, 'unreachableSeconds', /too small/i],
    [{ probeTimeoutSeconds: 6 }, 'probeTimeoutSeconds', /at most checkIntervalSeconds/],
    [{ unreachableSeconds: 9 }, 'unreachableSeconds', /twice checkIntervalSeconds/],
    [{ rebootSeconds: -1 }, 'rebootSeconds', /too small/i],
    [{ maxPeersPerCheck: 1.5 }, 'maxPeersPerCheck', /int/i],
  ])('refuses %o naming %s', (input, field, message) => {
    const result = selfFenceSettingsSchema.safeParse(input);
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((i) => i.path[0] === field);
    expect(issue?.message).toMatch(message);
  });
});

describe('selfFenceWorkerSchema and selfFenceApplies', () => {
  it('accepts what the chart renders and matches nodes carrying every pair', () => {
    const fence = selfFenceWorkerSchema.parse({
      selector: { 'nodeheal.io/pool': 'db', zone: 'a' },
      safeTimeSeconds: 129,
    });
    expect(selfFenceApplies(fence, { 'nodeheal.io/pool': 'db', zone: 'a', x: 'y' })).toBe(true);
    expect(selfFenceApplies(fence, { 'nodeheal.io/pool': 'db', zone: 'b' })).toBe(false);
    expect(selfFenceApplies(fence, { 'nodeheal.io/pool': 'db' })).toBe(false);
    expect(selfFenceApplies(fence, {})).toBe(false);
  });

  it.each([
    [{ selector: {}, safeTimeSeconds: 129 }],
    [{ selector: { a: 'b' }, safeTimeSeconds: 0 }],
    [{ selector: { a: 'b' }, safeTimeSeconds: 1.5 }],
    [{ selector: { a: 'b' } }],
    [{ selector: { a: 'b' }, safeTimeSeconds: 129, extra: true }],
  ])('refuses %j', (input) => {
    expect(selfFenceWorkerSchema.safeParse(input).success).toBe(false);
  });
});
