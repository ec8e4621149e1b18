// The triage decision: what one alert means for the pending heal of its (node, fault).
import { dedupeKey } from './dedupe-key.ts';
import {
  classifyAlert,
  countTransitions,
  EMPTY_HISTORY,
  recordTransition,
} from './fault-history.ts';
import type { FaultHistory, TriageOptions, TriageRule } from './fault-history.ts';
import { isoTime } from './iso-time.ts';
import type { AlertStatus, NodeAlert } from './node-alert.ts';

/** Low-cardinality reasons, usable as metric labels (`nodeheal_alerts_ignored_total{reason}`). */
export type DebounceReason = 'debouncing' | 'due-now' | 'flapping';
export type CancelReason = 'resolved-before-heal';
export type ObserveReason = 'resolved-during-heal' | 'fired-during-heal';
export type IgnoreReason =
  | 'invalid-time'
  | 'future-start'
  | 'stale-firing'
  | 'stale-resolve'
  | 'duplicate-resolve'
  | 'no-pending-heal'
  | 'still-firing'
  | 'heal-running';

export type TriageDecision =
  | {
      /** Schedule (or keep) the heal for `key`, due at `dueAt`. */
      readonly kind: 'debounce';
      readonly key: string;
      readonly dueAt: Date;
      /** `dueAt - now`, never negative. */
      readonly delayMs: number;
      /** The fault is flapping: `dueAt` includes the rule's `flap.holdFor` (count it). */
      readonly flapping: boolean;
      /** The alert was already recorded (a repeat or HA duplicate): the same job, again. */
      readonly repeat: boolean;
      readonly reason: DebounceReason;
      readonly detail: string;
    }
  | {
      /** Remove the pending heal for `key` (if any: cancelling is idempotent). */
      readonly kind: 'cancel';
      readonly key: string;
      readonly reason: CancelReason;
      readonly detail: string;
    }
  | {
      /** Hand the alert to the running heal for `key` as an observation of its current step. */
      readonly kind: 'observe';
      readonly key: string;
      readonly status: AlertStatus;
      readonly reason: ObserveReason;
      readonly detail: string;
    }
  | {
      /** Nothing to do; say why. */
      readonly kind: 'ignore';
      readonly key: string;
      readonly reason: IgnoreReason;
      readonly detail: string;
    };

/**
 * Decides what an alert means for the heal of its (node, fault). Pure: `now` is a parameter.
 * Pass the history as stored before this alert, then store `recordTransition(...)` (or use
 * `applyAlert`, which does both).
 *
 * Firing alerts:
 * - Ignored when startsAt is invalid, or later than `now` plus the clock-skew tolerance (60s).
 * - Ignored when stale: older than the episode already active for the fingerprint, or not newer
 *   than an episode of it already resolved (a late delivery from the other Alertmanager).
 * - While a heal runs for the key: a repeat is ignored (`heal-running`); a newly firing alert is
 *   observed (`fired-during-heal`), since the running step did not make the fault go away.
 * - Otherwise debounce: `dueAt = startsAt + rule.debounce`, with startsAt the earliest start
 *   among the key's active alerts, so a repeat, an HA duplicate, a regrouping, a restart of
 *   nodeheal or a late first delivery never restarts the wait; if that moment has passed, the
 *   heal is due now (`dueAt = now`, `delayMs = 0`).
 * - Flapping: when, counting this alert, the key has more than `rule.flap.maxTransitions`
 *   transitions inside `rule.flap.window`, `dueAt` moves `rule.flap.holdFor` later and
 *   `flapping` is true.
 *
 * Resolved alerts:
 * - Ignored when stale (older than the firing episode of the fingerprint) or a duplicate of a
 *   resolve already seen.
 * - Ignored (`still-firing`) while other alerts of the key still fire: the fault is not gone.
 * - When the key's last alert resolves: `observe` if a heal runs (the resolution verifies the
 *   running step), otherwise `cancel` the pending heal.
 * - Ignored (`no-pending-heal`) when nothing fires for the key and no heal runs.
 */
export function triage(
  alert: NodeAlert,
  fault: TriageRule,
  history: FaultHistory | undefined,
  now: Date,
  options: TriageOptions = {},
): TriageDecision {
  return decide(alert, fault, history, now, options, () =>
    recordTransition(history, alert, now, fault, options),
  );
}

/** `triage`, given the history after the alert (computed at most once, and only if needed). */
function decide(
  alert: NodeAlert,
  fault: TriageRule,
  history: FaultHistory | undefined,
  now: Date,
  options: TriageOptions,
  historyAfter: () => FaultHistory,
): TriageDecision {
  const key = dedupeKey(alert.node, fault.name, alert.cluster);
  const h = history ?? EMPTY_HISTORY;
  const kind = classifyAlert(h, alert, now, options);
  const running = h.running;
  const ignore = (reason: IgnoreReason, detail: string): TriageDecision => ({
    kind: 'ignore',
    key,
    reason,
    detail,
  });
  const startsAt = alert.startsAt.getTime();

  switch (kind) {
    case 'invalid-time':
      return ignore('invalid-time', `${alert.alertname} has no valid startsAt`);
    case 'future-start':
      return ignore(
        'future-start',
        `${alert.alertname} starts at ${isoTime(startsAt)}, beyond the clock-skew tolerance after ${now.toISOString()}`,
      );
    case 'stale-firing':
      return ignore(
        'stale-firing',
        `${alert.alertname} firing since ${isoTime(startsAt)} is older than what is already recorded for ${alert.fingerprint}`,
      );
    case 'stale-resolve':
      return ignore(
        'stale-resolve',
        `resolved ${alert.alertname} from ${isoTime(startsAt)} belongs to an older episode than the one firing`,
      );
    case 'duplicate-resolve':
      return ignore('duplicate-resolve', `${alert.alertname} was already resolved`);
    case 'new-firing':
    case 'repeat-firing':
    case 'newer-firing': {
      if (running !== undefined) {
        return kind === 'repeat-firing'
          ? ignore('heal-running', `heal ${running.healId} is already running for ${key}`)
          : {
              kind: 'observe',
              key,
              status: 'firing',
              reason: 'fired-during-heal',
              detail: `${alert.alertname} fired while heal ${running.healId} runs`,
            };
      }
      const next = historyAfter();
      const faultStart = Math.min(...next.active.map((entry) => entry.startsAt), startsAt);
      const flapping = countTransitions(next, now, fault.flap.windowMs) > fault.flap.maxTransitions;
      const due = faultStart + fault.debounceMs + (flapping ? fault.flap.holdForMs : 0);
      const dueAt = Math.max(due, now.getTime());
      const delayMs = dueAt - now.getTime();
      const reason: DebounceReason = flapping
        ? 'flapping'
        : delayMs === 0
          ? 'due-now'
          : 'debouncing';
      return {
        kind: 'debounce',
        key,
        dueAt: new Date(dueAt),
        delayMs,
        flapping,
        repeat: kind === 'repeat-firing',
        reason,
        detail:
          `${fault.name} on ${alert.node} since ${isoTime(faultStart)}: due ${isoTime(dueAt)}` +
          (flapping ? ` (flapping: held ${fault.flap.holdForMs / 1000}s longer)` : ''),
      };
    }
    case 'resolves':
    case 'unknown-resolve': {
      const othersFiring = h.active.filter((entry) => entry.fingerprint !== alert.fingerprint);
      if (othersFiring.length > 0) {
        return ignore(
          'still-firing',
          `${alert.alertname} resolved but ${othersFiring.length} other alert(s) of ${fault.name} still fire`,
        );
      }
      if (running !== undefined) {
        return {
          kind: 'observe',
          key,
          status: 'resolved',
          reason: 'resolved-during-heal',
          detail: `${alert.alertname} resolved while heal ${running.healId} runs`,
        };
      }
      if (kind === 'unknown-resolve') {
        return ignore('no-pending-heal', `nothing is pending or running for ${key}`);
      }
      return {
        kind: 'cancel',
        key,
        reason: 'resolved-before-heal',
        detail: `${alert.alertname} resolved before the heal was due`,
      };
    }
  }
}

/** `triage` and `recordTransition` in one call, in the right order. */
export function applyAlert(
  alert: NodeAlert,
  fault: TriageRule,
  history: FaultHistory | undefined,
  now: Date,
  options: TriageOptions = {},
): { decision: TriageDecision; history: FaultHistory } {
  const next = recordTransition(history, alert, now, fault, options);
  return { decision: decide(alert, fault, history, now, options, () => next), history: next };
}
