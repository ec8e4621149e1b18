// The heal ladder as a pure state machine: record + observation + now → record + command.
import type { RemedyAction } from '../rules/catalog-types.ts';
import { formatDuration } from '../rules/duration.ts';
import {
  currentStep,
  isExpertRemedy,
  isPreparation,
  MAX_TRANSITIONS,
  recordState,
} from './heal-record.ts';
import type {
  FinalStatus,
  HealRecord,
  JoinedFault,
  RecordState,
  Transition,
  TransitionKind,
} from './heal-record.ts';
import {
  describeLadder,
  faultOfStep,
  isNewToHeal,
  ladderMovedTo,
  outranks,
} from './joined-faults.ts';
import type { Command, Observation } from './observation.ts';

/** Transient failures of one step retried before it counts as failed (so at most 4 attempts). */
export const MAX_RETRIES = 3;
/** First retry backoff; doubled for each further retry (15 s, 30 s, 60 s). */
export const RETRY_BASE_MS = 15_000;
/** No backoff is longer than this. */
export const RETRY_MAX_MS = 5 * 60_000;

/** Successes and attempts of one (fault, action) over its last `overLast` recorded attempts. */
export interface StepStats {
  readonly successes: number;
  readonly attempts: number;
}

/** Measured success of a remedy; `undefined` when nothing is recorded. See `ratesFrom`. */
export type StepRates = (
  fault: string,
  action: RemedyAction,
  overLast: number,
) => StepStats | undefined;

export interface NextStepResult {
  /** The record to store; the very same object when the observation changed nothing. */
  readonly record: HealRecord;
  readonly command: Command;
  /** False when the observation was ignored (nothing to store). */
  readonly changed: boolean;
}

/** Backoff before retry number `retry` (1-based): 15 s · 2^(retry-1), at most 5 min. */
export function retryBackoffMs(retry: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, retry - 1), RETRY_MAX_MS);
}

/** The command a record stands for, without any change (what a resumed worker does next). */
export function currentCommand(record: HealRecord): Command {
  if (record.status !== 'running') {
    return {
      kind: 'finish',
      status: record.status,
      reason: record.outcomeReason ?? record.status,
      uncordon:
        (record.status === 'healed' || record.status === 'cancelled') &&
        record.cordonedByUs &&
        !record.nodeGone,
    };
  }
  const step = currentStep(record);
  const deadline = record.deadline ?? record.updatedAt;
  switch (record.stepState) {
    case 'pending':
      if (record.gate !== null) {
        return {
          kind: 'wait-gate',
          gate: record.gate,
          until: deadline,
          stepIndex: record.stepIndex,
        };
      }
      return {
        kind: 'wait-retry',
        until: deadline,
        stepIndex: record.stepIndex,
        attempt: record.retries + 1,
      };
    case 'acting':
      return {
        kind: 'act',
        step,
        stepIndex: record.stepIndex,
        attempt: record.retries + 1,
        deadline,
      };
    case 'verifying':
      return {
        kind: 'verify',
        until: deadline,
        stepIndex: record.stepIndex,
        awaiting: step.action === 'replace' ? 'node-gone' : 'fault-resolved',
      };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function duration(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms)));
}

// A working copy: the functions below mutate it, never the caller's record.
type Draft = HealRecord;

interface Ctx {
  readonly now: number;
  readonly rates: StepRates | undefined;
}

function push(
  d: Draft,
  ctx: Ctx,
  kind: TransitionKind,
  to: RecordState,
  detail: string,
  options: { step?: number; result?: 'success' | 'failure' } = {},
): void {
  const step = options.step ?? d.stepIndex;
  const action = d.ladder[step]?.action ?? currentStep(d).action;
  const transition: Transition = {
    at: ctx.now,
    kind,
    step,
    action,
    from: recordState(d),
    to,
    detail,
    ...(options.result === undefined ? {} : { result: options.result }),
  };
  d.transitions.push(transition);
}

/** The fault whose ladder the current step belongs to (a joined fault's, after a ladder change). */
function faultNow(d: HealRecord): string {
  return faultOfStep(d, d.stepIndex);
}

function hasStarted(d: HealRecord): boolean {
  return d.transitions.some((t) => t.kind === 'started');
}

/** The current step has acted at least once (it is in flight, verifying, or waiting to retry). */
function actedAtStep(d: HealRecord): boolean {
  return d.stepState !== 'pending' || d.retries > 0;
}

function cordonNote(d: HealRecord): string {
  return d.cordonedByUs ? '; the node stays cordoned' : '';
}

function finish(
  d: Draft,
  ctx: Ctx,
  status: FinalStatus,
  reason: string,
  result?: 'success' | 'failure',
): Command {
  push(d, ctx, status, status, reason, result === undefined ? {} : { result });
  d.status = status;
  d.gate = null;
  d.outcomeReason = reason;
  d.deadline = null;
  d.endedAt = ctx.now;
  return currentCommand(d);
}

function skipReason(d: HealRecord, ctx: Ctx): string | undefined {
  const step = currentStep(d);
  const gate = step.skipBelowSuccessRate;
  if (gate === undefined || ctx.rates === undefined) return undefined;
  const stats = ctx.rates(faultNow(d), step.action, gate.overLast);
  if (stats === undefined || stats.attempts < gate.overLast || stats.attempts <= 0)
    return undefined;
  const rate = stats.successes / stats.attempts;
  if (rate >= gate.rate) return undefined;
  return (
    `${step.action} skipped: it cleared ${faultNow(d)} in ${stats.successes} of its last ` +
    `${stats.attempts} attempts (${Math.round(rate * 100)}% < ${Math.round(gate.rate * 100)}%)`
  );
}

/** Acts the current (pending, due) step, or skips it when its success rate is too low. */
function begin(d: Draft, ctx: Ctx): Command {
  const step = currentStep(d);
  const reason = skipReason(d, ctx);
  if (reason !== undefined) {
    const skipped = d.stepIndex;
    if (skipped + 1 >= d.ladder.length) {
      push(d, ctx, 'skipped', 'pending', reason);
      return finish(
        d,
        ctx,
        'abandoned',
        `Ladder exhausted: the last step was skipped (${reason}); left for a human${cordonNote(d)}`,
      );
    }
    push(d, ctx, 'skipped', 'pending', `${reason}; next: ${d.ladder[skipped + 1]?.action}`);
    moveTo(d, ctx, skipped + 1);
    return { kind: 'skip-step', reason, step, stepIndex: skipped };
  }
  const first = !hasStarted(d);
  const attempt = d.retries + 1;
  const detail = first
    ? `Heal started${d.dryRun ? ' (dry run)' : ''}: ${d.fault} on ${d.node}; acting ${step.action}`
    : `acting ${step.action}${attempt > 1 ? ` (attempt ${attempt})` : ''}`;
  push(d, ctx, first ? 'started' : 'acting', 'acting', detail);
  d.gate = null;
  if (d.retries === 0) d.stepStartedAt = ctx.now;
  d.stepState = 'acting';
  d.deadline = ctx.now + step.timeoutMs;
  return currentCommand(d);
}

/** Puts the record on step `index`, pending and due now. */
function moveTo(d: Draft, ctx: Ctx, index: number): void {
  d.stepIndex = index;
  d.stepState = 'pending';
  d.retries = 0;
  d.deadline = ctx.now;
  d.stepStartedAt = ctx.now;
}

/** The current step failed (or did not clear the fault): next step, or abandoned at the end. */
function escalate(d: Draft, ctx: Ctx, why: string): Command {
  const next = d.stepIndex + 1;
  const joined = dueLadderChange(d, next);
  if (joined !== undefined) {
    push(d, ctx, 'escalated', 'pending', `Escalated: ${why}; next: the ladder of ${joined.fault}`, {
      result: 'failure',
    });
    changeLadder(d, ctx, joined, next);
    return begin(d, ctx);
  }
  const nextStep = d.ladder[next];
  if (nextStep === undefined) {
    return finish(
      d,
      ctx,
      'abandoned',
      `Ladder exhausted: ${why}; left for a human${cordonNote(d)}`,
      'failure',
    );
  }
  push(d, ctx, 'escalated', 'pending', `Escalated: ${why}; next: ${nextStep.action}`, {
    result: 'failure',
  });
  moveTo(d, ctx, next);
  return begin(d, ctx);
}

function stepDone(d: Draft, ctx: Ctx, detail: string, cordonedByUs: boolean | undefined): Command {
  const step = currentStep(d);
  if (cordonedByUs === true) d.cordonedByUs = true;
  if (step.action !== 'replace' && d.faultResolvedAt !== null) {
    return finish(
      d,
      ctx,
      'healed',
      `${step.action} done (${detail}); ${faultNow(d)} had resolved at ${iso(d.faultResolvedAt)}, ` +
        `during the step, so the heal ends here`,
      'success',
    );
  }
  const joined = isPreparation(step.action) ? dueLadderChange(d, d.stepIndex + 1) : undefined;
  if (joined !== undefined) {
    push(d, ctx, 'step-done', 'pending', `${step.action} done: ${detail}`, { result: 'success' });
    changeLadder(d, ctx, joined, d.stepIndex + 1);
    return begin(d, ctx);
  }
  const next = d.ladder[d.stepIndex + 1];
  if (isPreparation(step.action) && next !== undefined) {
    push(d, ctx, 'step-done', 'pending', `${step.action} done: ${detail}; next: ${next.action}`, {
      result: 'success',
    });
    moveTo(d, ctx, d.stepIndex + 1);
    return begin(d, ctx);
  }
  // A replacement first waits (the step's timeout) for the old node to go; once it is gone, the
  // node startup timeout starts for capacity to come back (see nodeGone).
  const until = ctx.now + step.timeoutMs;
  const awaiting = step.action === 'replace' ? capacityAwaited(d) : `${faultNow(d)} to resolve`;
  push(
    d,
    ctx,
    'step-done',
    'verifying',
    `${step.action} done: ${detail}; waiting for ${awaiting} until ${iso(until)}`,
  );
  d.stepState = 'verifying';
  d.deadline = until;
  return currentCommand(d);
}

function stepFailed(d: Draft, ctx: Ctx, detail: string, permanent: boolean): Command {
  const step = currentStep(d);
  if (d.faultResolvedAt !== null) {
    return finish(
      d,
      ctx,
      'healed',
      `${step.action} failed (${detail}) but ${faultNow(d)} had resolved at ${iso(d.faultResolvedAt)}`,
    );
  }
  if (!permanent && d.retries < MAX_RETRIES) {
    const retry = d.retries + 1;
    const backoff = retryBackoffMs(retry);
    push(
      d,
      ctx,
      'retry-scheduled',
      'pending',
      `${step.action} failed (transient): ${detail}; retry ${retry} of ${MAX_RETRIES} in ${duration(backoff)}`,
    );
    d.stepState = 'pending';
    d.retries = retry;
    d.deadline = ctx.now + backoff;
    return currentCommand(d);
  }
  const why = permanent
    ? `${step.action} failed: ${detail}`
    : `${step.action} failed ${d.retries + 1} times (last: ${detail})`;
  if (isPreparation(step.action)) {
    return finish(
      d,
      ctx,
      'abandoned',
      `${why}; the steps after ${step.action} need it, so nothing more is done; left for a human${cordonNote(d)}`,
      'failure',
    );
  }
  return escalate(d, ctx, why);
}

function timeUp(d: Draft, ctx: Ctx): Command | undefined {
  const deadline = d.deadline ?? Number.POSITIVE_INFINITY;
  if (ctx.now < deadline) return undefined;
  const step = currentStep(d);
  switch (d.stepState) {
    case 'pending':
      return begin(d, ctx);
    case 'acting':
      return stepFailed(d, ctx, `no result within ${duration(step.timeoutMs)}`, true);
    case 'verifying':
      return escalate(
        d,
        ctx,
        step.action !== 'replace'
          ? `${step.action} did not clear ${faultNow(d)} within ${duration(step.timeoutMs)}`
          : d.nodeGone
            ? `${d.node} is gone but capacity is not back within ${duration(d.nodeStartupTimeoutMs)}: ` +
              `no ${capacityAwaited(d)}`
            : `replacement requested but ${d.node} still exists after ${duration(step.timeoutMs)}`,
      );
  }
}

/**
 * A fault of the node came due while this heal runs: recorded on the heal. When its ladder is
 * more drastic than where the heal goes next, the heal moves to it at the next step boundary:
 * at once when no step is in flight, else when the current step is over (a remedy that did not
 * clear its fault, or a preparation done); a step that heals its fault ends the heal.
 */
function joinFault(d: Draft, ctx: Ctx, joined: JoinedFault): Command | undefined {
  if (!isNewToHeal(d, joined.fault)) return undefined;
  d.joined = [...d.joined, joined];
  const step = currentStep(d);
  const drastic = outranks(joined.ladder, d.ladder, d.stepIndex);
  const now = drastic && d.stepState === 'pending';
  const what = `${joined.alertname} (${joined.fault}) came due while this heal runs: recorded here`;
  const then = !drastic
    ? ''
    : now
      ? `; its ladder (${describeLadder(joined.ladder)}) is more drastic`
      : `; its ladder (${describeLadder(joined.ladder)}) is more drastic: the heal moves to it when ${step.action} is over`;
  push(d, ctx, 'fault-joined', d.stepState, what + then);
  if (!drastic) return currentCommand(d);
  if (!now) {
    d.switchTo = joined.fault;
    return currentCommand(d);
  }
  // Nothing in flight: a step that never acted gives way; one waiting to be retried stays done.
  changeLadder(d, ctx, joined, actedAtStep(d) ? d.stepIndex + 1 : d.stepIndex);
  return currentCommand(d);
}

/** The joined fault whose ladder replaces step `next` onwards, if one waits and still outranks it. */
function dueLadderChange(d: Draft, next: number): JoinedFault | undefined {
  const joined = d.joined.find((j) => j.fault === d.switchTo);
  d.switchTo = null;
  return joined !== undefined && outranks(joined.ladder, d.ladder, next) ? joined : undefined;
}

/** Puts the joined fault's ladder in place from step `at` on, pending and due now. */
function changeLadder(d: Draft, ctx: Ctx, joined: JoinedFault, at: number): void {
  const from = d.ladder[at]?.action;
  d.ladder = ladderMovedTo(d.ladder, at, joined);
  d.ladderFault = joined.fault;
  d.ladderFrom = at;
  d.switchTo = null;
  d.gate = null;
  moveTo(d, ctx, at);
  push(
    d,
    ctx,
    'ladder-changed',
    'pending',
    `Moves to the ladder of ${joined.fault} (${describeLadder(joined.ladder)})` +
      (from === undefined ? '' : ` instead of ${from}`),
  );
}

function faultResolved(d: Draft, ctx: Ctx, at: number): Command | undefined {
  const step = currentStep(d);
  const resolvedAt = Number.isFinite(at) ? Math.min(at, ctx.now) : ctx.now;
  if (d.stepState === 'pending') {
    d.faultResolvedAt = resolvedAt;
    if (!hasStarted(d)) {
      return finish(d, ctx, 'cancelled', `${d.fault} resolved before any step acted`);
    }
    return finish(
      d,
      ctx,
      'healed',
      `${faultNow(d)} resolved at ${iso(resolvedAt)} while ${step.action} waited to ${d.retries > 0 ? 'be retried' : 'start'}`,
    );
  }
  if (d.stepState === 'verifying' && step.action !== 'replace') {
    d.faultResolvedAt = resolvedAt;
    return finish(
      d,
      ctx,
      'healed',
      `${step.action} worked: ${faultNow(d)} resolved at ${iso(resolvedAt)}`,
      'success',
    );
  }
  // Acting (any step) or verifying a replacement: the step is not interrupted.
  if (d.faultResolvedAt !== null) return undefined;
  d.faultResolvedAt = resolvedAt;
  if (d.transitions.length < MAX_TRANSITIONS) {
    push(
      d,
      ctx,
      'fault-resolved',
      d.stepState,
      step.action === 'replace'
        ? `${faultNow(d)} resolved at ${iso(resolvedAt)}; the replacement goes on`
        : `${faultNow(d)} resolved at ${iso(resolvedAt)} while ${step.action} runs; the heal ends when it completes`,
    );
  }
  return currentCommand(d);
}

/** What a replacement waits for, in words. */
function capacityAwaited(d: HealRecord): string {
  const pool =
    d.poolReadyBefore === null ? '' : `pool ${d.pool} back at ${d.poolReadyBefore} Ready nodes`;
  const replacement = d.replacement === null ? '' : `replacement ${d.replacement} Ready`;
  const either = [replacement, pool].filter(Boolean).join(' or ');
  return either === '' ? `${d.node} to be gone` : `${d.node} gone and ${either}`;
}

function nodeGone(d: Draft, ctx: Ctx): Command | undefined {
  const step = currentStep(d);
  if (step.action === 'replace' && actedAtStep(d)) {
    if (d.nodeGone && d.stepState === 'verifying') return undefined;
    d.nodeGone = true;
    // Without a pool to count and no replacement named, the old node gone is all we can see.
    if (d.capacityBackAt !== null || (d.poolReadyBefore === null && d.replacement === null)) {
      return finish(d, ctx, 'healed', `${d.node} replaced: the Node object is gone`, 'success');
    }
    // The old node is gone: capacity has the node startup timeout to come back.
    const until = ctx.now + d.nodeStartupTimeoutMs;
    push(
      d,
      ctx,
      'step-done',
      'verifying',
      `${d.node} is gone; waiting for ${capacityAwaited(d)} until ${iso(until)}`,
    );
    d.stepState = 'verifying';
    d.deadline = until;
    return currentCommand(d);
  }
  d.nodeGone = true;
  return finish(
    d,
    ctx,
    'cancelled',
    `${d.node} was deleted outside this heal (during ${step.action}); nothing left to heal`,
  );
}

function safetyBlocked(
  d: Draft,
  ctx: Ctx,
  o: Extract<Observation, { kind: 'safety-blocked' }>,
): Command | undefined {
  const { gate, detail } = o;
  const step = currentStep(d);
  if (gate === 'daily-cap' && isExpertRemedy(step.action)) {
    const target = d.ladder.findIndex((s, i) => i > d.stepIndex && !isExpertRemedy(s.action));
    const targetStep = d.ladder[target];
    if (targetStep !== undefined) {
      for (let i = d.stepIndex; i < target; i += 1) {
        push(
          d,
          ctx,
          'skipped',
          'pending',
          `${d.ladder[i]?.action} skipped: daily cap (${detail}); only ${targetStep.action} and later steps may run`,
          { step: i },
        );
        d.stepIndex = i;
        d.stepState = 'pending';
      }
      moveTo(d, ctx, target);
      return begin(d, ctx);
    }
  }
  if (o.defer === true) {
    // Already waiting on this very gate: nothing new to record.
    if (d.stepState === 'pending' && d.gate === gate) return undefined;
    const until = o.until ?? ctx.now;
    push(
      d,
      ctx,
      'held',
      'pending',
      `${step.action} waits for safety gate ${gate}: ${detail}; asking again at ${iso(until)}`,
    );
    d.stepState = 'pending';
    d.deadline = until;
    d.gate = gate;
    return currentCommand(d);
  }
  if (!hasStarted(d)) {
    const command = finish(
      d,
      ctx,
      'skipped',
      `skipped: safety gate ${gate} refused ${step.action}: ${detail}; nothing was done on the node`,
    );
    d.gate = gate;
    return command;
  }
  // Something acted on the node before: a step completed, failed or was retried.
  const changed = d.transitions.some(
    (t) => t.kind === 'step-done' || t.kind === 'retry-scheduled' || t.kind === 'escalated',
  );
  const command = finish(
    d,
    ctx,
    'abandoned',
    `blocked by safety gate ${gate} before ${step.action}: ${detail}; ` +
      (changed ? 'left for a human' : 'nothing was changed on the node') +
      cordonNote(d),
  );
  d.gate = gate;
  return command;
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
      return faultResolved(d, ctx, o.at);
    case 'fault-firing': {
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
