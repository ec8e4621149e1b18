// The heal ladder as a pure state machine: record + observation + now → record + command. The
// moves live in ladder-steps.ts (and ladder-join.ts), the primitives in ladder-draft.ts.
import { currentStep, MAX_TRANSITIONS, type HealRecord } from './heal-record.ts';
import { faultNow, finish, push, type Ctx, type Draft, type StepRates } from './ladder-draft.ts';
import { joinFault } from './ladder-join.ts';
import { safetyBlocked } from './ladder-gates.ts';
import {
  begin,
  confirmFailed,
  faultResolved,
  nodeGone,
  stepDone,
  stepFailed,
  timeUp,
} from './ladder-steps.ts';
import type { Command, Observation } from './observation.ts';
import { currentCommand } from './step-command.ts';

export type { StepRates, StepStats } from './ladder-draft.ts';
export { MAX_RETRIES, RETRY_BASE_MS, RETRY_MAX_MS, retryBackoffMs } from './ladder-steps.ts';
export { currentCommand } from './step-command.ts';

export interface NextStepResult {
  /** The record to store; the very same object when the observation changed nothing. */
  readonly record: HealRecord;
  readonly command: Command;
  /** False when the observation was ignored (nothing to store). */
  readonly changed: boolean;
}

/**
 * The heal ladder: what a heal does next, given what was observed. Pure: `now` is a parameter,
 * and `record` is never mutated.
 *
 * Starting and resuming:
 * - `start` on a new record acts step 0 (Event HealStarted); on a running record it re-issues
 *   the current command unchanged: a record resumed in `acting` gets the same `act` again (steps
 *   are idempotent), one in `verifying` the same `verify`, one held by a gate the same
 *   `wait-gate` (even past its deadline: the runner asks the gates again). A finished record only
 *   ever returns `finish`: a finished step is never run again.
 * - Observations that do not apply to the current state (a `step-done` for another step or a
 *   second time, a `tick` before the deadline, anything after the end) are ignored: the same
 *   record object comes back with its current command and `changed: false`. Replaying an
 *   observation is therefore harmless.
 *
 * Remedies (restart-kubelet, restart-container-runtime, clean-disk, sync-clock, reboot):
 * - `step-done` starts verification: `verify` until done + the step's timeout.
 * - The step worked when the fault resolves (`fault-resolved`) within that window → `healed`.
 * - A `tick` at or after the deadline → `Escalated: … did not clear … within …` and the next
 *   step acts at once.
 * - A resolution seen while the step is still acting is remembered (`fault-resolved` note): when
 *   the step then completes (done or failed), the heal ends `healed` without a verification wait.
 *   `fault-firing` clears the note.
 *
 * Preparation (cordon, drain):
 * - `step-done` moves straight on to the next step: no verification wait. `cordonedByUs: true`
 *   on the observation marks the cordon as nodeheal's (only that one is ever uncordoned).
 * - The fault resolving during cordon or drain does not interrupt it: the step runs to its end.
 *   When it completes and the fault is still resolved, the heal ends `healed` instead of going
 *   on to a reboot or replace, and `finish.uncordon` tells the runner to uncordon (only if the
 *   cordon is ours; DESIGN.md: never uncordon a node nodeheal did not cordon). A node that
 *   keeps failing is caught by the cooldown and the daily cap (3 heals in 24 h → replace).
 * - A preparation step that is the last of its ladder is verified like a remedy.
 * - A preparation step that fails (permanently, by its deadline, or after its retries) ends the
 *   heal `abandoned`, node left cordoned for a human: the steps after it (reboot, replace)
 *   would disrupt workloads still on the node (DESIGN.md: drain timeout, then abandon).
 *
 * Replace:
 * - `step-done` (replacement requested) starts verification that waits for `node-gone` until
 *   done + timeout; `node-gone` while replace is acting or verifying → `healed`.
 * - A resolution during replace is noted but does not stop it: once requested, the replacement
 *   goes through. Before it is requested (waiting to retry) a resolution heals as usual.
 * - No `node-gone` by the deadline → escalate; replace is last, so `abandoned`.
 *
 * Operators:
 * - `cancel` ends the heal `cancelled`, and nodeheal's own cordon is undone.
 * - `operator-uncordoned` (someone lifted nodeheal's own cordon) ends it `cancelled` too, the
 *   node left as the operator put it; the node cooldown then keeps nodeheal off it.
 *
 * Failures, retries, timeouts:
 * - `step-failed` with `permanent: false` retries the same step after 15 s, 30 s, 60 s
 *   (`wait-retry`, then `tick`); a 4th transient failure counts as permanent.
 * - A permanent failure of a remedy or replace escalates (`Escalated: … failed: …`); of a
 *   preparation step abandons (above).
 * - An act that reports nothing by its deadline (acted + the step's timeout) fails permanently
 *   on the next `tick`.
 * - Escalating past the last step: `abandoned` ("Ladder exhausted"), the node stays cordoned
 *   and a human is told.
 *
 * Success-rate skip:
 * - Before a step acts, if it has `skipBelowSuccessRate { rate, overLast }` and `rates` reports
 *   at least `overLast` attempts with successes/attempts below `rate`, the step is skipped
 *   (`skip-step`, transition `skipped`) and the next one is due; skipping the last step
 *   abandons.
 *
 * Other endings:
 * - `fault-resolved` before any step acted → `cancelled`; while waiting to retry → `healed`.
 * - `node-gone` during any step but an acted replace → `cancelled` (deleted outside this heal).
 * - While a step acts: `awaiting-fence` is noted once per distinct reason, `fenced` once (it sets
 *   `fence`), `out-of-service` once (it sets `outOfServiceAt`); none of them changes the state.
 *
 * Safety gates (the runner asks them before each act; `safety-blocked` is ignored while
 * verifying, since nothing acts, and when its `step` is not the current step, a replay):
 * - `daily-cap` on an expert remedy (DESIGN.md "after 3 heals in 24 h, replace or abandon")
 *   skips to the next cordon/drain/replace step when the ladder has one (the skipped steps get
 *   `skipped` transitions), whether or not the heal had started.
 * - A gate that may lift (`defer: true`: paused, storm, budgets, cooldown, another control-plane
 *   node in flight) holds the step: it goes back to `pending` without acting, `gate` names the
 *   gate, one `held` transition says why, and the command is `wait-gate` until `until`. The
 *   heal is not abandoned: a pause lets the step in flight finish and starts no new one. The
 *   same gate again while held changes nothing; another gate is a new `held`.
 * - `gate-cleared` on a held step (or a `tick` at its deadline) acts it (`started` when nothing
 *   acted yet, else `acting`; `gate` cleared). A held step still ends on `fault-resolved`
 *   (`healed`, or `cancelled` before the start), `cancel` and `node-gone` as any pending step.
 * - A gate that will not lift (opt-out, a control-plane node without an allowed step, daily cap
 *   with nothing disruptive left) before the heal started (no `started` transition: nothing was
 *   done on the node) → `skipped`, `gate` set, the reason names the gate: no human is needed.
 * - The same once the heal started → `abandoned`, `gate` set, the reason names the gate and
 *   says whether the node was changed (and that it stays cordoned, if nodeheal cordoned it).
 *
 * Cordon notes and cancel:
 * - `cordoned` with `byUs: true` while the step acts sets `cordonedByUs` at once (no transition),
 *   so that a cancel or a failure in the middle of a drain or replace knows the cordon is
 *   nodeheal's; `byUs: false` (someone else's cordon) and repeats change nothing.
 * - `cancel` → `cancelled` from any running state. When nodeheal cordoned the node (and it still
 *   exists) the reason says nodeheal uncordons it, and `finish.uncordon` is true; any other
 *   cordon is left as it is.
 * - Ended records: `finish.uncordon` is true for `healed` and `cancelled` with the cordon ours
 *   and the node still there; never for `abandoned` or `skipped`.
 */
export function nextStep(
  record: HealRecord,
  observation: Observation,
  now: Date,
  rates?: StepRates,
): NextStepResult {
  if (record.status !== 'running') return unchanged(record);
  const ctx: Ctx = { now: now.getTime(), rates };
  const d: Draft = { ...record, transitions: [...record.transitions] };
  const command = apply(d, ctx, observation);
  if (command === undefined) return unchanged(record);
  d.updatedAt = ctx.now;
  return { record: d, command, changed: true };
}

function unchanged(record: HealRecord): NextStepResult {
  return { record, command: currentCommand(record), changed: false };
}

function apply(d: Draft, ctx: Ctx, o: Observation): Command | undefined {
  switch (o.kind) {
    case 'start':
      // A held step waits for the gates (`wait-gate`), not for its deadline.
      return d.stepState === 'pending' && d.gate === null ? timeUp(d, ctx) : undefined;
    case 'tick':
      return timeUp(d, ctx);
    case 'step-done':
      if (d.stepState !== 'acting' || o.step !== d.stepIndex) return undefined;
      if (o.replacement !== undefined) d.replacement = o.replacement;
      return stepDone(d, ctx, o.detail, o.cordonedByUs);
    case 'step-failed':
      if (d.stepState !== 'acting' || o.step !== d.stepIndex) return undefined;
      return stepFailed(d, ctx, o.detail, o.permanent);
    case 'fault-resolved':
      return faultResolved(d, ctx, o.at, o.evidence, o.underOwnCordon);
    case 'fault-firing': {
      if (d.confirmingSince !== null) return confirmFailed(d, ctx);
      if (d.faultResolvedAt === null) return undefined;
      d.faultResolvedAt = null;
      if (d.transitions.length < MAX_TRANSITIONS) {
        push(d, ctx, 'fault-firing', d.stepState, `${faultNow(d)} firing again`);
      }
      return currentCommand(d);
    }
    case 'node-gone':
      return nodeGone(d, ctx);
    case 'capacity-back': {
      const step = currentStep(d);
      if (step.action !== 'replace' || d.stepState !== 'verifying' || !d.nodeGone) return undefined;
      d.capacityBackAt = o.at;
      return finish(d, ctx, 'healed', `${d.node} replaced, capacity back: ${o.detail}`, 'success');
    }
    case 'safety-blocked':
      if (d.stepState === 'verifying') return undefined;
      if (o.step !== undefined && o.step !== d.stepIndex) return undefined;
      return safetyBlocked(d, ctx, o);
    case 'gate-cleared':
      if (d.stepState !== 'pending' || d.gate === null || o.step !== d.stepIndex) return undefined;
      return begin(d, ctx);
    case 'cordoned':
      if (d.stepState !== 'acting' || o.step !== d.stepIndex || !o.byUs || d.cordonedByUs) {
        return undefined;
      }
      d.cordonedByUs = true;
      d.recordon = false;
      return currentCommand(d);
    case 'uncordoned':
      if (d.confirmingSince === null || o.step !== d.stepIndex || !d.cordonedByUs) return undefined;
      d.cordonedByUs = false;
      return currentCommand(d);
    case 'awaiting-fence': {
      if (d.stepState !== 'acting' || o.step !== d.stepIndex || d.fence !== null) return undefined;
      const detail = `waiting for a fence: ${o.detail}`;
      const last = d.transitions.at(-1);
      if (last?.kind === 'awaiting-fence' && last.detail === detail) return undefined;
      push(d, ctx, 'awaiting-fence', d.stepState, detail);
      return currentCommand(d);
    }
    case 'fenced':
      if (d.stepState !== 'acting' || o.step !== d.stepIndex || d.fence !== null) return undefined;
      d.fence = o.fence;
      push(
        d,
        ctx,
        'fenced',
        d.stepState,
        `fenced by ${o.fence.method} (${o.fence.by}): ${o.fence.detail}`,
      );
      return currentCommand(d);
    case 'out-of-service':
      if (d.stepState !== 'acting' || o.step !== d.stepIndex || d.outOfServiceAt !== null) {
        return undefined;
      }
      d.outOfServiceAt = o.at;
      push(
        d,
        ctx,
        'out-of-service',
        d.stepState,
        'out-of-service taint set: Kubernetes deletes the pods and detaches their volumes',
      );
      return currentCommand(d);
    case 'fault-joined':
      return joinFault(d, ctx, o.fault);
    case 'operator-uncordoned':
      // Only nodeheal's own cordon, and not while nodeheal itself uncordoned to confirm a fix.
      if (!d.cordonedByUs || d.confirmingSince !== null) return undefined;
      // Already schedulable: nothing of nodeheal's to undo, and the node is not cordoned again.
      d.cordonedByUs = false;
      d.recordon = false;
      d.uncordonedBy = o.by;
      return finish(
        d,
        ctx,
        'cancelled',
        `uncordoned by ${o.by} while ${o.detail}: nodeheal takes that as an operator's ` +
          'decision, stops, and does not cordon the node again before its cooldown ends',
      );
    case 'cancel':
      return finish(
        d,
        ctx,
        'cancelled',
        `cancelled by ${o.by}: ${o.detail}` +
          (d.cordonedByUs && !d.nodeGone
            ? '; nodeheal uncordons the node (the cordon was its own)'
            : ''),
      );
  }
}
