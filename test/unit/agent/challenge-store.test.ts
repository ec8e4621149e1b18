// Replay protection without comparing clocks: a challenge the agent issued is good for one request
// within its lifetime on the agent's monotonic clock; the set of outstanding challenges is bounded.
import { describe, expect, it } from 'vitest';
import {
  CHALLENGE_TTL_MS,
  ChallengeStore,
  MAX_OUTSTANDING_CHALLENGES,
  invalidField,
} from '../../../src/agent/index.ts';

/** Challenges c0, c1, ... in order, so a test can name them. */
function counting(): () => string {
  let i = 0;
  return () => `c${i++}`;
}

// A monotonic clock reading (performance.now() in the agent): milliseconds since an arbitrary start.
const T = 12_345.678;

describe('ChallengeStore', () => {
  it('issues fresh 128-bit random challenges that can be signed', () => {
    const store = new ChallengeStore();
    const issued = new Set(Array.from({ length: 100 }, () => store.issue(T)));
    expect(issued.size).toBe(100);
    for (const challenge of issued) {
      expect(challenge).toMatch(/^[0-9a-f]{32}$/);
      expect(
        invalidField({
          method: 'POST',
          path: '/v1/run',
          node: 'node-a',
          command: 'sync-clock',
          healId: 'h1',
          timestamp: 1,
          challenge,
        }),
      ).toBeUndefined();
    }
    expect(store.ttlMs).toBe(CHALLENGE_TTL_MS);
    expect(CHALLENGE_TTL_MS).toBe(30_000);
    expect(MAX_OUTSTANDING_CHALLENGES).toBe(1024);
  });

  it('accepts an issued challenge once; a second use is unknown', () => {
    const store = new ChallengeStore({ random: counting() });
    expect(store.issue(T)).toBe('c0');
    expect(store.consume('c0', T + 10)).toBe('ok');
    expect(store.consume('c0', T + 20)).toBe('unknown');
    expect(store.size).toBe(0);
  });

  it('knows nothing it did not issue', () => {
    const store = new ChallengeStore({ random: counting() });
    store.issue(T);
    expect(store.consume('0123456789abcdef0123456789abcdef', T)).toBe('unknown');
    expect(store.consume('c1', T)).toBe('unknown');
    expect(store.size).toBe(1);
  });

  it.each([
    ['just issued', 0, 'ok'],
    ['at the end of its lifetime', 30_000, 'ok'],
    ['a millisecond later', 30_001, 'expired'],
    ['an hour later', 3_600_000, 'expired'],
  ])('a challenge used %s is %s', (_label, after, expected) => {
    const store = new ChallengeStore({ random: counting() });
    store.issue(T);
    expect(store.consume('c0', T + after)).toBe(expected);
    // Whatever the answer, the challenge is gone.
    expect(store.consume('c0', T)).toBe('unknown');
  });

  it('takes its lifetime from the option', () => {
    const store = new ChallengeStore({ ttlMs: 500, random: counting() });
    store.issue(T);
    store.issue(T);
    expect(store.consume('c0', T + 500)).toBe('ok');
    expect(store.consume('c1', T + 501)).toBe('expired');
  });

  it('drops expired challenges when it issues the next one', () => {
    const store = new ChallengeStore({ ttlMs: 1000, random: counting() });
    for (let i = 0; i < 50; i += 1) store.issue(T + i);
    expect(store.size).toBe(50);
    store.issue(T + 1020); // c0..c19 expired (issued at T+0..T+19)
    expect(store.size).toBe(31);
    expect(store.consume('c19', T + 1020)).toBe('unknown');
    expect(store.consume('c20', T + 1020)).toBe('ok');
  });

  it('keeps at most maxOutstanding: one more drops the oldest, and refuses it from then on', () => {
    const store = new ChallengeStore({ maxOutstanding: 3, random: counting() });
    for (let i = 0; i < 3; i += 1) store.issue(T);
    expect(store.size).toBe(3);
    expect(store.issue(T)).toBe('c3');
    expect(store.size).toBe(3);
    expect(store.consume('c0', T)).toBe('unknown');
    expect(['c1', 'c2', 'c3'].map((c) => store.consume(c, T))).toEqual(['ok', 'ok', 'ok']);
  });
});
