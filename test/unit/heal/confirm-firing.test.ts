// The check before a heal's first action: what Alertmanager and the API say now against what the
// intake recorded. A fault that looks over waits for its resolved notification, bounded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { confirmFiring, type FiringEvidence } from '../../../src/heal/index.ts';

const NOW = Date.parse('2026-12-02T07:00:00Z');

function evidence(overrides: Partial<FiringEvidence> = {}): FiringEvidence {
  return {
    activeFingerprints: ['aaaa', 'bbbb'],
    alertmanager: { kind: 'listed', fingerprints: new Set(['bbbb', 'zzzz']) },
    apiHealthy: undefined,
    overSince: undefined,
    now: NOW,
    recheckMs: 15_000,
    maxWaitMs: 300_000,
    ...overrides,
  };
}

describe('confirmFiring', () => {
  it('goes when Alertmanager still holds one of the active alerts unresolved', () => {
    expect(confirmFiring(evidence())).toMatchObject({ kind: 'go', result: 'firing' });
  });

  it('waits for the resolved notification when Alertmanager holds none of them', () => {
    const decision = confirmFiring(
      evidence({ alertmanager: { kind: 'listed', fingerprints: new Set(['zzzz']) } }),
    );
    expect(decision).toEqual({
      kind: 'wait',
      result: 'resolved-in-alertmanager',
      until: NOW + 15_000,
      overSince: NOW,
      detail:
        'Alertmanager holds none of its alerts unresolved: waiting for its resolved notification',
    });
  });

  it('never waits past overSince + maxWaitMs, and then goes and says why', () => {
    const none = { kind: 'listed' as const, fingerprints: new Set<string>() };
    const near = confirmFiring(
      evidence({ alertmanager: none, overSince: NOW - 295_000, now: NOW }),
    );
    expect(near).toMatchObject({ kind: 'wait', until: NOW + 5_000, overSince: NOW - 295_000 });
    const past = confirmFiring(evidence({ alertmanager: none, overSince: NOW - 300_000 }));
    expect(past.kind).toBe('go');
    expect(past.result).toBe('waited-out');
    expect(past.detail).toContain('no resolved notification came in 300 s');
  });

  it('lets the API decide first when the fault names a condition or taint', () => {
    const none = { kind: 'listed' as const, fingerprints: new Set<string>() };
    expect(confirmFiring(evidence({ alertmanager: none, apiHealthy: false }))).toMatchObject({
      kind: 'go',
      result: 'firing',
    });
    expect(confirmFiring(evidence({ apiHealthy: true }))).toMatchObject({
      kind: 'wait',
      result: 'healthy-in-api',
    });
  });

  it('goes when Alertmanager cannot be asked or is not asked', () => {
    expect(
      confirmFiring(evidence({ alertmanager: { kind: 'unanswered', why: 'ECONNREFUSED' } })),
    ).toMatchObject({ kind: 'go', result: 'alertmanager-unanswered' });
    expect(confirmFiring(evidence({ alertmanager: { kind: 'not-asked' } }))).toMatchObject({
      kind: 'go',
      result: 'not-asked',
    });
  });

  it('for any evidence: waits only when the fault looks over, and never past its bound', () => {
    const fingerprint = fc.constantFrom('a', 'b', 'c', 'd');
    fc.assert(
      fc.property(
        fc.array(fingerprint, { maxLength: 4 }),
        fc.array(fingerprint, { maxLength: 4 }),
        fc.constantFrom(true, false, undefined),
        fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
        fc.integer({ min: 1_000, max: 600_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        (active, listed, apiHealthy, ago, recheckMs, maxWaitMs) => {
          const overSince = ago === undefined ? undefined : NOW - ago;
          const decision = confirmFiring(
            evidence({
              activeFingerprints: active,
              alertmanager: { kind: 'listed', fingerprints: new Set(listed) },
              apiHealthy,
              overSince,
              recheckMs,
              maxWaitMs,
            }),
          );
          const stillListed = active.some((f) => listed.includes(f));
          const looksOver = apiHealthy === true || (apiHealthy === undefined && !stillListed);
          if (!looksOver) {
            expect(decision).toMatchObject({ kind: 'go', result: 'firing' });
            return;
          }
          const since = overSince ?? NOW;
          if (decision.kind === 'wait') {
            expect(decision.until).toBeGreaterThan(NOW);
            expect(decision.until).toBeLessThanOrEqual(since + maxWaitMs);
            expect(decision.until).toBeLessThanOrEqual(NOW + recheckMs);
          } else {
            expect(decision.result).toBe('waited-out');
            expect(NOW).toBeGreaterThanOrEqual(since + maxWaitMs);
          }
        },
      ),
    );
  });
});
