// Where a heal's time went, from the fault's start to its end: detection, debounce, waiting for a
// worker, safety gates, acting and verification. Pure: a record (and `now`, for a running heal)
// in, milliseconds out.
import type { HealRecord, Transition } from './heal-record.ts';

export interface HealPhases {
  /** Fault start (the alert's startsAt) to nodeheal receiving the alert; null without origin. */
  detectionMs: number | null;
  /** Alert received to the heal being due (the fault's debounce, longer for a flapping fault). */
  debounceMs: number | null;
  /**
   * Due to the heal's record being created: the job waiting for a free worker, or a safety gate
   * deferring the heal before it started (storm, budget, pause, cooldown); null without origin.
   */
  queuedMs: number | null;
  /** A started heal's steps held by a safety gate (each `held` until the step acts or it ends). */
  gatesMs: number;
  /** Steps acting, and waiting to retry after a transient failure. */
  actingMs: number;
  /** Waiting for the fault to clear or capacity to come back after a step, confirmations too. */
  verificationMs: number;
  /** Fault start to the heal's end (or `now` while it runs): the sum of the phases above. */
  totalMs: number;
  /** Where the accounting stops: the heal's end, or `now` while it runs. */
  until: number;
  /** The heal still runs: the last phase keeps growing. */
  running: boolean;
}

type Phase = 'gates' | 'acting' | 'verification';

/** Transitions that note something without moving the step (a held step stays held). */
const NOTES: ReadonlySet<Transition['kind']> = new Set([
  'fault-resolved',
  'fault-firing',
  'fault-joined',
  'awaiting-fence',
  'fenced',
  'out-of-service',
]);

const FINAL: ReadonlySet<Transition['to']> = new Set([
  'healed',
  'abandoned',
  'cancelled',
  'skipped',
]);

function phaseAfter(t: Transition, before: Phase): Phase {
  if (t.kind === 'held') return 'gates';
  if (before === 'gates' && NOTES.has(t.kind)) return 'gates';
  if (t.to === 'verifying') return 'verification';
  return 'acting';
}

function span(from: number, to: number): number {
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, to - from) : 0;
}

/**
 * The time to heal split into phases.
 *
 * - Before the record: detection (`faultStartedAt` → `origin.receivedAt`), debounce (→
 *   `origin.dueAt`) and queued (→ `createdAt`); all three null when the record has no origin
 *   (written before origins were kept): the time before `createdAt` then counts in `totalMs`
 *   only.
 * - From `createdAt`, the record's transitions say the phase: `held` starts a gates period that
 *   lasts until the step acts or the heal ends (notes such as `fault-resolved` do not end it);
 *   a transition to `verifying` starts verification; anything else that moves the step
 *   (`started`, `acting`, `retry-scheduled`, `escalated`, `step-done` to the next step) is acting.
 * - The accounting stops at `endedAt`, or at `now` while the heal runs.
 * - Out-of-order times (clock skew between replicas) count as 0, never negative; `totalMs` is
 *   the sum of the phases, so it equals `until - faultStartedAt` when the times are in order.
 */
export function healPhases(record: HealRecord, now: number): HealPhases {
  const running = record.status === 'running';
  const until = record.endedAt ?? (running ? now : record.updatedAt);
  const origin = record.origin;
  const detectionMs = origin ? span(record.faultStartedAt, origin.receivedAt) : null;
  const debounceMs = origin ? span(origin.receivedAt, origin.dueAt) : null;
  const queuedMs = origin ? span(origin.dueAt, record.createdAt) : null;

  const totals: Record<Phase, number> = { gates: 0, acting: 0, verification: 0 };
  let phase: Phase = 'acting';
  let cursor = record.createdAt;
  let ended = false;
  for (const t of record.transitions) {
    const at = Math.min(t.at, until);
    totals[phase] += span(cursor, at);
    cursor = Math.max(cursor, at);
    if (FINAL.has(t.to)) {
      ended = true;
      break;
    }
    phase = phaseAfter(t, phase);
  }
  if (!ended) totals[phase] += span(cursor, until);

  const totalMs =
    (detectionMs ?? 0) +
    (debounceMs ?? 0) +
    (queuedMs ?? 0) +
    totals.gates +
    totals.acting +
    totals.verification;
  return {
    detectionMs,
    debounceMs,
    queuedMs,
    gatesMs: totals.gates,
    actingMs: totals.acting,
    verificationMs: totals.verification,
    totalMs: origin ? totalMs : totalMs + span(record.faultStartedAt, record.createdAt),
    until,
    running,
  };
}
