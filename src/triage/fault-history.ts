// What triage remembers per dedupe key between deliveries. Stored as JSON (Redis), so every time
// is epoch milliseconds, never a Date.
import { z } from 'zod';
import type { NodeAlert } from './node-alert.ts';

/** The part of a fault rule that triage needs (a rules `Fault` satisfies it). */
export interface TriageRule {
  readonly name: string;
  /** How long the fault must persist, from the alert's startsAt, before acting. */
  readonly debounceMs: number;
  /** More than `maxTransitions` transitions inside `windowMs`: hold the heal `holdForMs` longer. */
  readonly flap: {
    readonly maxTransitions: number;
    readonly windowMs: number;
    readonly holdForMs: number;
  };
}

/** Options shared by `triage` and `recordTransition`. */
export interface TriageOptions {
  /** A firing alert may start this far in the future (clocks differ) before it is ignored. */
  readonly clockSkewToleranceMs?: number;
}

export const DEFAULT_CLOCK_SKEW_TOLERANCE_MS = 60_000;

/** At most this many alerts per key are tracked (active and recently resolved, each). */
export const MAX_TRACKED_ALERTS = 64;

export const faultHistorySchema = z.object({
  /** Alerts of this (node, fault) currently firing. */
  active: z.array(z.object({ fingerprint: z.string(), startsAt: z.number() })),
  /** Alert episodes resolved inside the flap window: late or duplicate deliveries are spotted. */
  resolved: z.array(
    z.object({ fingerprint: z.string(), startsAt: z.number(), endsAt: z.number() }),
  ),
  /** Firing/resolved transitions of the key inside the flap window, oldest first. */
  transitions: z.array(z.object({ at: z.number(), status: z.enum(['firing', 'resolved']) })),
  /** Set by the worker while a heal runs for this key. */
  running: z.object({ healId: z.string(), since: z.number() }).optional(),
  /**
   * Due time (ms) of the heal job the intake has confirmed in the queue for the current firing
   * episode: a repeat delivery with the same due time then needs no queue write at all.
   */
  scheduledFor: z.number().optional(),
});

/** Per-key triage memory; JSON-serialisable (epoch ms). Parse stored values with `faultHistorySchema`. */
export type FaultHistory = z.infer<typeof faultHistorySchema>;

export const EMPTY_HISTORY: FaultHistory = { active: [], resolved: [], transitions: [] };

/** How an alert relates to what the history already knows. */
export type AlertClass =
  | 'invalid-time'
  | 'future-start'
  | 'stale-firing'
  | 'new-firing'
  | 'repeat-firing'
  | 'newer-firing'
  | 'resolves'
  | 'stale-resolve'
  | 'duplicate-resolve'
  | 'unknown-resolve';

/**
 * Classifies an alert against the history (internal to triage; exported for tests and logs).
 *
 * - Firing alerts whose startsAt is invalid or beyond `now + clockSkewTolerance` are not trusted.
 * - A firing alert older than the episode already active for its fingerprint, or not newer than
 *   an episode already resolved for it (an HA peer delivering late), is stale.
 * - A resolved alert older than the active episode of its fingerprint is stale; one for an
 *   episode already resolved is a duplicate.
 */
export function classifyAlert(
  history: FaultHistory | undefined,
  alert: NodeAlert,
  now: Date,
  options: TriageOptions = {},
): AlertClass {
  const h = history ?? EMPTY_HISTORY;
  const startsAt = alert.startsAt.getTime();
  if (!Number.isFinite(startsAt)) return 'invalid-time';
  const active = h.active.find((entry) => entry.fingerprint === alert.fingerprint);
  const resolved = h.resolved.find((entry) => entry.fingerprint === alert.fingerprint);
  if (alert.status === 'firing') {
    const tolerance = options.clockSkewToleranceMs ?? DEFAULT_CLOCK_SKEW_TOLERANCE_MS;
    if (startsAt > now.getTime() + tolerance) return 'future-start';
    if (active !== undefined) {
      if (startsAt < active.startsAt) return 'stale-firing';
      return startsAt === active.startsAt ? 'repeat-firing' : 'newer-firing';
    }
    if (resolved !== undefined && startsAt <= resolved.startsAt) return 'stale-firing';
    return 'new-firing';
  }
  if (active !== undefined) return startsAt < active.startsAt ? 'stale-resolve' : 'resolves';
  if (resolved !== undefined && startsAt <= resolved.startsAt) return 'duplicate-resolve';
  return 'unknown-resolve';
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** The `limit` newest items, oldest first; the very same array when it already is that. */
function newest<T>(items: T[], time: (item: T) => number, limit: number): T[] {
  if (
    items.length <= limit &&
    items.every((item, i) => i === 0 || time(items[i - 1]!) <= time(item))
  ) {
    return items;
  }
  return [...items].sort((a, b) => time(a) - time(b)).slice(-limit);
}

/** `items.filter(keep)`, but the very same array when every item is kept (a repeat changes nothing). */
function keepWhere<T>(items: T[], keep: (item: T) => boolean): T[] {
  return items.every(keep) ? items : items.filter(keep);
}

/**
 * The history after this alert; pure, and idempotent for repeated deliveries.
 *
 * - Pass the history as stored before the alert, the same one given to `triage`.
 * - Untrusted and stale alerts (see `classifyAlert`) change nothing but the pruning.
 * - A firing alert becomes active for its fingerprint (a newer episode replaces an older one);
 *   a resolved alert removes it and is remembered as resolved, even if its firing was never seen.
 * - A transition is recorded when the key goes from no active alert to one (`firing`, at the
 *   alert's startsAt) and from some to none (`resolved`, at its endsAt or `now`); times are
 *   clamped to `now`.
 * - Bounded: transitions and resolved episodes older than `fault.flap.windowMs` before `now` are
 *   dropped, transitions beyond `maxTransitions + 1` (enough to tell flapping) too, and at most
 *   `MAX_TRACKED_ALERTS` alerts are kept per list.
 * - When the alert changes nothing, the given history object itself is returned.
 */
export function recordTransition(
  history: FaultHistory | undefined,
  alert: NodeAlert,
  now: Date,
  fault: TriageRule,
  options: TriageOptions = {},
): FaultHistory {
  const h = history ?? EMPTY_HISTORY;
  const nowMs = now.getTime();
  const startsAt = alert.startsAt.getTime();
  const kind = classifyAlert(h, alert, now, options);
  let active = h.active;
  let resolved = h.resolved;
  let transitions = h.transitions;
  const wasFiring = active.length > 0;

  if (kind === 'new-firing' || kind === 'newer-firing') {
    active = [
      ...active.filter((entry) => entry.fingerprint !== alert.fingerprint),
      { fingerprint: alert.fingerprint, startsAt },
    ];
    if (!wasFiring)
      transitions = [...transitions, { at: Math.min(startsAt, nowMs), status: 'firing' }];
  } else if (kind === 'resolves' || kind === 'unknown-resolve') {
    const endsAt = clamp(alert.endsAt?.getTime() ?? nowMs, startsAt, nowMs);
    active = active.filter((entry) => entry.fingerprint !== alert.fingerprint);
    resolved = [
      ...resolved.filter((entry) => entry.fingerprint !== alert.fingerprint),
      { fingerprint: alert.fingerprint, startsAt, endsAt },
    ];
    if (wasFiring && active.length === 0) {
      transitions = [...transitions, { at: endsAt, status: 'resolved' }];
    }
  }

  const horizon = nowMs - fault.flap.windowMs;
  const next: FaultHistory = {
    active: newest(active, (entry) => entry.startsAt, MAX_TRACKED_ALERTS),
    resolved: newest(
      keepWhere(resolved, (entry) => entry.endsAt > horizon),
      (entry) => entry.endsAt,
      MAX_TRACKED_ALERTS,
    ),
    transitions: newest(
      keepWhere(transitions, (transition) => transition.at > horizon),
      (transition) => transition.at,
      fault.flap.maxTransitions + 1,
    ),
    ...(h.running === undefined ? {} : { running: h.running }),
    // The confirmed job stays valid while the set of firing alerts does not change.
    ...(h.scheduledFor !== undefined && active === h.active
      ? { scheduledFor: h.scheduledFor }
      : {}),
  };
  // Nothing changed (a repeat delivery): the very same object, so that a caller can tell without
  // comparing serialisations that there is nothing to store.
  const unchanged =
    history !== undefined &&
    sameItems(next.active, h.active) &&
    sameItems(next.resolved, h.resolved) &&
    sameItems(next.transitions, h.transitions) &&
    next.scheduledFor === h.scheduledFor;
  return unchanged ? history : next;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** The history with the queue's job for the current episode confirmed, due at `dueAt`. */
export function markScheduled(history: FaultHistory | undefined, dueAt: Date): FaultHistory {
  return { ...(history ?? EMPTY_HISTORY), scheduledFor: dueAt.getTime() };
}

/** Transitions inside the window ending at `now`. */
export function countTransitions(history: FaultHistory, now: Date, windowMs: number): number {
  const horizon = now.getTime() - windowMs;
  return history.transitions.filter((transition) => transition.at > horizon).length;
}

/** The history with a heal running for its key (the worker calls this when a step starts). */
export function markHealStarted(
  history: FaultHistory | undefined,
  healId: string,
  now: Date,
): FaultHistory {
  return { ...(history ?? EMPTY_HISTORY), running: { healId, since: now.getTime() } };
}

/** The history with no heal running (healed, abandoned or cancelled). */
export function markHealFinished(history: FaultHistory | undefined): FaultHistory {
  const { active, resolved, transitions } = history ?? EMPTY_HISTORY;
  return { active, resolved, transitions };
}

/** Nothing left worth storing: the caller may delete the key. */
export function isEmptyHistory(history: FaultHistory): boolean {
  return (
    history.active.length === 0 &&
    history.resolved.length === 0 &&
    history.transitions.length === 0 &&
    history.running === undefined
  );
}
