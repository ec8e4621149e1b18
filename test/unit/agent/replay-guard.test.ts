// Replay protection: a nonce is accepted once while its timestamp could still be accepted.
import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../../src/agent/index.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');

describe('ReplayGuard', () => {
  it('accepts a nonce once, then calls it replayed', () => {
    const guard = new ReplayGuard();
    expect(guard.check('n1', NOW, NOW)).toBe('fresh');
    expect(guard.check('n1', NOW, NOW + 1000)).toBe('replayed');
    expect(guard.check('n2', NOW, NOW + 1000)).toBe('fresh');
  });

  it('remembers a nonce for as long as its timestamp is inside the window', () => {
    const guard = new ReplayGuard({ maxSkewMs: 60_000 });
    // Signed 59 s in the future: acceptable until NOW + 59 s + 60 s.
    expect(guard.check('n1', NOW + 59_000, NOW)).toBe('fresh');
    expect(guard.check('n1', NOW + 59_000, NOW + 119_000)).toBe('replayed');
  });

  it('forgets nonces whose timestamps can no longer be accepted', () => {
    const guard = new ReplayGuard({ maxSkewMs: 60_000 });
    for (let i = 0; i < 50; i += 1) guard.check(`n${i}`, NOW, NOW);
    expect(guard.size).toBe(50);
    guard.check('later', NOW + 200_000, NOW + 200_000);
    expect(guard.size).toBe(1);
  });

  it('refuses rather than forgets a live nonce when full', () => {
    const guard = new ReplayGuard({ maxEntries: 3 });
    expect(['a', 'b', 'c'].map((n) => guard.check(n, NOW, NOW))).toEqual([
      'fresh',
      'fresh',
      'fresh',
    ]);
    expect(guard.check('d', NOW, NOW)).toBe('full');
    expect(guard.check('a', NOW, NOW)).toBe('replayed');
    // Once the others have expired there is room again.
    expect(guard.check('e', NOW + 200_000, NOW + 200_000)).toBe('fresh');
  });
});
