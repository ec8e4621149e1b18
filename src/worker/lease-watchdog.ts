// A running heal acts on its node only while it may still hold the node's lock. The runner renews
// the lock every quarter of its lifetime (`renewHold`); this watchdog keeps the time of the last
// renewal Redis answered yes to, and hands the heal back (its signal aborts like a shutdown's:
// acting steps stop, nothing more is saved, the job goes back to the queue and the next worker
// resumes the saved record) when
// - a renewal answers that another heal holds the lock (ours lapsed and was taken), or
// - no renewal has been answered yes for 3/4 of the lock's lifetime: Redis is unreachable, or the
//   path to it is black-holed and the renewal hangs. A timer checks the age, so a renewal that
//   never answers cannot hold the watchdog up; the heal stops before its lock can lapse and
//   another heal take the node.
import type { Logger } from '../log/index.ts';
import { nodeLockTtl, renewHold, type LivenessDeps, type RenewResult } from './ghost-slots.ts';

/** The share of the lock's lifetime a heal may go without a renewal before it stops acting. */
export const LEASE_STALE_FRACTION = 3 / 4;
/** The watchdog looks at the lease's age at least this often (less for short lock lifetimes). */
export const LEASE_CHECK_MAX_MS = 1000;

export type LeaseLostReason = 'held-by-other' | 'not-renewed';

/** Why a heal was handed back: the metric's label, and the sentence of its warning. */
export class LeaseLostError extends Error {
  readonly code = 'HEAL_LEASE_LOST';
  readonly reason: LeaseLostReason;
  constructor(reason: LeaseLostReason, detail: string) {
    super(detail);
    this.reason = reason;
    this.name = 'LeaseLostError';
  }
}

/**
 * The share of BullMQ's job lock (NODEHEAL_WORKER_LOCK_MS) a heal may go without a renewal: BullMQ
 * renews the job lock every half of it, so a worker cut from Redis loses its job to another
 * worker (stalled) at the earliest half a job lock after the cut; the heal must have stopped by
 * then, or two workers would act on one node.
 */
export const LEASE_JOB_LOCK_FRACTION = 0.4;
/** Never stale sooner than this: a loaded host's pauses must not hand healthy heals back. */
export const LEASE_MIN_STALE_MS = 10_000;

/**
 * When renewals are sent, how often the lease's age is looked at, and when it is stale: 3/4 of
 * the node lock's lifetime, and with `jobLockMs`, at most 0.4 of the job lock (not under 10 s).
 */
export function leaseTimings(
  ttlMs: number,
  jobLockMs?: number,
): {
  renewEveryMs: number;
  checkEveryMs: number;
  staleAfterMs: number;
} {
  const byJobLock =
    jobLockMs === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(LEASE_MIN_STALE_MS, jobLockMs * LEASE_JOB_LOCK_FRACTION);
  const staleAfterMs = Math.min(ttlMs * LEASE_STALE_FRACTION, byJobLock);
  return {
    renewEveryMs: Math.min(ttlMs / 4, staleAfterMs / 3),
    checkEveryMs: Math.min(LEASE_CHECK_MAX_MS, staleAfterMs / 6),
    staleAfterMs,
  };
}

export type LeaseVerdict =
  | { kind: 'held' }
  | { kind: 'lost'; reason: 'held-by-other'; holder: string }
  | { kind: 'lost'; reason: 'not-renewed'; silentMs: number; staleAfterMs: number };

/**
 * Whether a running heal still holds its node, from what its renewals said. Pure: `now` and the
 * lock's lifetime are parameters.
 * - Another heal named as the lock's holder by a renewal: lost, whatever the time (the lock can
 *   only be taken over once ours lapsed, or was deleted).
 * - Otherwise held while the last renewal answered yes (`renewedAt`: when it was sent, so the
 *   lock lives at least a lifetime past it) is younger than 3/4 of the lifetime: lost at once
 *   after, a quarter of the lifetime before the lock could lapse.
 * - A renewal that failed or never answered changes nothing by itself: only the age counts.
 */
export function leaseVerdict(
  lease: { renewedAt: number; heldBy?: string },
  now: number,
  ttlMs: number,
  jobLockMs?: number,
): LeaseVerdict {
  if (lease.heldBy !== undefined)
    return { kind: 'lost', reason: 'held-by-other', holder: lease.heldBy };
  const { staleAfterMs } = leaseTimings(ttlMs, jobLockMs);
  const silentMs = now - lease.renewedAt;
  if (silentMs < staleAfterMs) return { kind: 'held' };
  return { kind: 'lost', reason: 'not-renewed', silentMs, staleAfterMs };
}

export interface LeaseWatch {
  /** Aborted with a LeaseLostError once the heal may have lost its node: hand the heal back. */
  readonly signal: AbortSignal;
  /** Why the heal was handed back, once it was. */
  readonly lost: () => LeaseLostError | undefined;
  /** Stops renewing and watching (the heal ended or was handed back). */
  readonly stop: () => void;
}

export interface LeaseDeps extends LivenessDeps {
  metrics?: { leaseLost?(reason: LeaseLostReason): void };
  /** BullMQ's job lock (NODEHEAL_WORKER_LOCK_MS): the lease goes stale well before it lapses. */
  jobLockMs?: number;
}

/**
 * Renews a running heal's lock and slot every quarter of the lock's lifetime (one renewal at a
 * time: a hung one is not piled on), and aborts the returned signal, with one warning and the
 * metric, when the heal may have lost its node. The lock was taken just before: that counts as
 * the first renewal.
 */
export function watchLease(
  deps: LeaseDeps,
  node: string,
  healId: string,
  log: Pick<Logger, 'warn'>,
  renew: (deps: LivenessDeps, node: string, healId: string) => Promise<RenewResult> = renewHold,
): LeaseWatch {
  const ttlMs = nodeLockTtl(deps);
  const timings = leaseTimings(ttlMs, deps.jobLockMs);
  const now = () => deps.now().getTime();
  const lease: { renewedAt: number; heldBy?: string } = { renewedAt: now() };
  const aborter = new AbortController();
  let lostWith: LeaseLostError | undefined;

  const check = () => {
    if (lostWith !== undefined) return;
    const verdict = leaseVerdict(lease, now(), ttlMs, deps.jobLockMs);
    if (verdict.kind === 'held') return;
    const detail =
      verdict.reason === 'held-by-other'
        ? `heal ${healId} stops acting on ${node}: its node lock is held by ${verdict.holder}`
        : `heal ${healId} stops acting on ${node}: its node lock not renewed for ${Math.round(verdict.silentMs)} ms (bound ${Math.round(verdict.staleAfterMs)} ms of a ${ttlMs} ms lock)`;
    lostWith = new LeaseLostError(verdict.reason, detail);
    deps.metrics?.leaseLost?.(verdict.reason);
    log.warn(
      { healId, node, ...verdict },
      `${detail}; handed back for the next worker to resume from its record`,
    );
    stop();
    aborter.abort(lostWith);
  };

  let renewing = false;
  const renewTimer = setInterval(() => {
    if (renewing || lostWith !== undefined) return;
    renewing = true;
    const sentAt = now();
    void renew(deps, node, healId)
      .then((result) => {
        if (result.kind === 'renewed') lease.renewedAt = Math.max(lease.renewedAt, sentAt);
        if (result.kind === 'held-by-other') lease.heldBy = result.holder;
        check();
      })
      // renewHold never throws; another renew may: a failed renewal, the age decides.
      .catch(() => undefined)
      .finally(() => (renewing = false));
  }, timings.renewEveryMs);
  const checkTimer = setInterval(check, timings.checkEveryMs);
  renewTimer.unref();
  checkTimer.unref();
  function stop() {
    clearInterval(renewTimer);
    clearInterval(checkTimer);
  }
  return { signal: aborter.signal, lost: () => lostWith, stop };
}
