// The chaos tally's own rules: a mismatch is a problem naming its round, and only a tally with
// nothing lost, doubled or mismatched is clean (test/chaos/ relies on these to fail a run).
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../chaos/rng.ts';
import { clean, countEvents, newTally, tallyLines } from '../../chaos/tally.ts';

describe('chaos tally', () => {
  it('Events seen as often as expected leave it clean; one more is a problem of its round', () => {
    const tally = newTally('worker-kill');
    countEvents(tally, 1, 'NodeDrained', 1, 1);
    expect(clean(tally)).toBe(true);
    countEvents(tally, 2, 'NodeDrained', 2, 1);
    expect(clean(tally)).toBe(false);
    expect(tally.problems).toEqual(['round 2: 2 NodeDrained Events, not 1']);
    expect(tally.events.get('NodeDrained')).toEqual([3, 2]);
    expect(tallyLines(tally).at(-1)).toContain('FAIL');
  });

  it.each([
    { lost: 1, doubled: 0 },
    { lost: 0, doubled: 1 },
  ])('lost $lost, doubled $doubled is not clean', ({ lost, doubled }) => {
    const tally = { ...newTally('redis-kill'), lost, doubled };
    expect(clean(tally)).toBe(false);
  });
});

describe('seeded random timing', () => {
  it('one seed gives the same moments again (CHAOS_SEED replays a run), within bounds', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const drawn = Array.from({ length: 50 }, () => a.between(0, 5000));
    expect(Array.from({ length: 50 }, () => b.between(0, 5000))).toEqual(drawn);
    expect(drawn.every((n) => n >= 0 && n <= 5000 && Number.isInteger(n))).toBe(true);
    expect(new Set(drawn).size).toBeGreaterThan(40);
  });
});
