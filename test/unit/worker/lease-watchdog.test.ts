import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RenewResult } from '../../../src/worker/ghost-slots.ts';
import {
  LeaseLostError,
  leaseTimings,
  leaseVerdict,
  watchLease,
} from '../../../src/worker/lease-watchdog.ts';

const TTL = 120_000;

describe('leaseVerdict', () => {
  it.each([
    ['renewed just now', { renewedAt: 1000 }, 1000, 'held'],
    ['renewed half a lifetime ago', { renewedAt: 1000 }, 1000 + TTL / 2, 'held'],
    ['1 ms short of 3/4 of the lifetime', { renewedAt: 1000 }, 1000 + 90_000 - 1, 'held'],
    ['exactly 3/4 of the lifetime', { renewedAt: 1000 }, 1000 + 90_000, 'not-renewed'],
    ['past the lock lifetime', { renewedAt: 1000 }, 1000 + TTL + 5, 'not-renewed'],
    ['another heal holds the lock', { renewedAt: 1000, heldBy: 'heal-9' }, 1000, 'held-by-other'],
  ])('%s: %s', (_, lease, now, expected) => {
    const verdict = leaseVerdict(lease, now, TTL);
    expect(verdict.kind === 'held' ? 'held' : verdict.reason).toBe(expected);
  });

  it('names the holder, and how long the lease went unrenewed against its bound', () => {
    expect(leaseVerdict({ renewedAt: 0, heldBy: 'heal-b' }, 5, TTL)).toEqual({
      kind: 'lost',
      reason: 'held-by-other',
      holder: 'heal-b',
    });
    expect(leaseVerdict({ renewedAt: 0 }, 100_000, TTL)).toEqual({
      kind: 'lost',
      reason: 'not-renewed',
      silentMs: 100_000,
      staleAfterMs: 90_000,
    });
  });

  it('held only while a quarter of the lifetime is left before the lock could lapse', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2000, max: 3_600_000 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (ttl, renewedAt, age) => {
          const verdict = leaseVerdict({ renewedAt }, renewedAt + age, ttl);
          // The lock was extended by a renewal sent at `renewedAt`: it lives until at least
          // renewedAt + ttl. Held means at least ttl/4 of that is left.
          expect(verdict.kind === 'held').toBe(renewedAt + ttl - (renewedAt + age) > ttl / 4);
          // And the check period keeps the stop before the lock can lapse.
          const { staleAfterMs, checkEveryMs, renewEveryMs } = leaseTimings(ttl);
          expect(staleAfterMs + checkEveryMs).toBeLessThan(ttl);
          // Two renewals fit before the lease is stale: one lost renewal is not enough to stop.
          expect(2 * renewEveryMs).toBeLessThan(staleAfterMs);
        },
      ),
    );
  });
});

describe('leaseTimings with the job lock', () => {
  it('goes stale at 0.4 of the job lock (not under 10 s), when that is sooner than 3/4 of the node lock', () => {
    expect(leaseTimings(120_000, 30_000)).toEqual({
      staleAfterMs: 12_000,
      renewEveryMs: 4_000,
      checkEveryMs: 1_000,
    });
    expect(leaseTimings(120_000, 4_000).staleAfterMs).toBe(10_000);
    expect(leaseTimings(4_000, 30_000).staleAfterMs).toBe(3_000);
    expect(leaseVerdict({ renewedAt: 0 }, 12_000, 120_000, 30_000)).toMatchObject({
      kind: 'lost',
      reason: 'not-renewed',
      staleAfterMs: 12_000,
    });
  });

  it('a worker cut from Redis stops before its job can be taken as stalled (job lock from 25 s)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 25_000, max: 600_000 }),
        fc.integer({ min: 2_000, max: 3_600_000 }),
        (jobLock, ttl) => {
          const { staleAfterMs, checkEveryMs, renewEveryMs } = leaseTimings(ttl, jobLock);
          // BullMQ renews the job lock every half of it: after a cut, the job can be taken as
          // stalled half a job lock later at the earliest. The heal stops at the latest a stale
          // bound and a check after its last renewal, which was sent before the cut.
          expect(staleAfterMs + checkEveryMs).toBeLessThan(jobLock / 2);
          expect(staleAfterMs + checkEveryMs).toBeLessThan(ttl);
          expect(2 * renewEveryMs).toBeLessThan(staleAfterMs);
        },
      ),
    );
  });
});

describe('watchLease', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const ttl = 8000;
  function watch(renew: () => Promise<RenewResult>) {
    const warn = vi.fn();
    const leaseLost = vi.fn();
    const deps = {
      redis: {} as Redis,
      nodeLockTtlMs: ttl,
      dryRun: false,
      now: () => new Date(),
      metrics: { leaseLost },
    };
    const lease = watchLease(deps, 'n1', 'heal-a', { warn }, renew);
    return { lease, warn, leaseLost };
  }

  it('stays held while renewals answer yes, a failed one now and then included', async () => {
    let n = 0;
    const { lease, warn } = watch(() =>
      Promise.resolve(
        n++ % 2 === 0 ? { kind: 'renewed' } : { kind: 'failed', error: new Error('timeout') },
      ),
    );
    await vi.advanceTimersByTimeAsync(20 * ttl);
    expect(lease.signal.aborted).toBe(false);
    expect(warn).not.toHaveBeenCalled();
    lease.stop();
  });

  it('stops a heal whose renewal hangs (a black-holed Redis) 3/4 of the lifetime after the last yes', async () => {
    let n = 0;
    // The first renewal (at ttl/4) answers; every later one never does.
    const { lease, warn, leaseLost } = watch(() =>
      n++ === 0 ? Promise.resolve({ kind: 'renewed' }) : new Promise<RenewResult>(() => {}),
    );
    const lastYes = ttl / 4;
    await vi.advanceTimersByTimeAsync(lastYes + (3 * ttl) / 4 - 1);
    expect(lease.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(leaseTimings(ttl).checkEveryMs);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(lease.lost()?.reason).toBe('not-renewed');
    expect(lease.lost()?.message).toContain('heal heal-a stops acting on n1');
    expect(lease.lost()?.message).toContain('not renewed for 6000 ms');
    expect(leaseLost).toHaveBeenCalledExactlyOnceWith('not-renewed');
    // One renewal in flight at a time: the hung one is not piled on.
    expect(n).toBe(2);
    await vi.advanceTimersByTimeAsync(5 * ttl);
    expect(warn).toHaveBeenCalledOnce();
    expect(leaseLost).toHaveBeenCalledOnce();
  });

  it('stops a heal at the first renewal that finds another heal holding the lock', async () => {
    const { lease, warn, leaseLost } = watch(() =>
      Promise.resolve({ kind: 'held-by-other', holder: 'heal-b' }),
    );
    await vi.advanceTimersByTimeAsync(ttl / 4);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.lost()?.reason).toBe('held-by-other');
    expect(lease.lost()?.message).toContain('its node lock is held by heal-b');
    expect(leaseLost).toHaveBeenCalledExactlyOnceWith('held-by-other');
    const [fields, line] = warn.mock.calls[0] as [Record<string, unknown>, string];
    expect(fields).toMatchObject({ healId: 'heal-a', node: 'n1', holder: 'heal-b' });
    expect(line).toContain('handed back');
  });

  it('counts a renewal from when it was sent: a yes that comes late does not stretch the lease', async () => {
    // Every renewal answers yes, but only 3 s after it was sent.
    const { lease } = watch(
      () =>
        new Promise<RenewResult>((resolve) => setTimeout(() => resolve({ kind: 'renewed' }), 3000)),
    );
    // Sent at 2 s, answered at 5 s: the lease counts from 2 s, stale at 2 + 6 = 8 s (from the
    // answer it would be 11 s). The next renewal, sent at 6 s (one at a time), answers at 9 s.
    await vi.advanceTimersByTimeAsync(7999);
    expect(lease.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(leaseTimings(ttl).checkEveryMs);
    expect(lease.lost()?.reason).toBe('not-renewed');
  });

  it('renews nothing and stops nobody once stopped', async () => {
    const renew = vi.fn(() => Promise.resolve<RenewResult>({ kind: 'renewed' }));
    const { lease } = watch(renew);
    lease.stop();
    await vi.advanceTimersByTimeAsync(10 * ttl);
    expect(renew).not.toHaveBeenCalled();
    expect(lease.signal.aborted).toBe(false);
  });
});
