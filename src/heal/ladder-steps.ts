// The moves of the ladder machine: begin a step (or skip it), a step done or failed, time up,
// the fault resolved, the node gone, a safety gate in the way. Each changes the draft and says
// what the worker does next. Pure.
import { currentStep, isPreparation, MAX_TRANSITIONS, type HealRecord } from './heal-record.ts';
import {
  actedAtStep,
  cordonNote,
  duration,
  faultNow,
  finish,
  hasStarted,
  iso,
  moveTo,
  push,
  type Ctx,
  type Draft,
} from './ladder-draft.ts';
import { changeLadder, dueLadderChange } from './ladder-join.ts';
import type { Command } from './observation.ts';
import { currentCommand } from './step-command.ts';

/** Transient failures of one step retried before it counts as failed (so at most 4 attempts). */
export const MAX_RETRIES = 3;

/** First retry backoff; doubled for each further retry (15 s, 30 s, 60 s). */
export const RETRY_BASE_MS = 15_000;

/** No backoff is longer than this. */
export const RETRY_MAX_MS = 5 * 60_000;

/** Backoff before retry number `retry` (1-based): 15 s · 2^(retry-1), at most 5 min. */
export function retryBackoffMs(retry: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, retry - 1), RETRY_MAX_MS);
}

export function skipReason(d: HealRecord, ctx: Ctx): string | undefined {
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
export function begin(d: Draft, ctx: Ctx): Command {
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
    ? `Heal started${d.dryRun ? ' (dry run)' : ''}: ${d.fault} on ${d.node}; acting ${step.action}` +
      (d.ladderOrder === null ? '' : ` (${d.ladderOrder})`)
    : `acting ${step.action}${attempt > 1 ? ` (attempt ${attempt})` : ''}`;
  push(d, ctx, first ? 'started' : 'acting', 'acting', detail);
  d.gate = null;
  if (d.retries === 0) d.stepStartedAt = ctx.now;
  d.stepState = 'acting';
  d.deadline = ctx.now + step.timeoutMs;
  return currentCommand(d);
}

/** The current step failed (or did not clear the fault): next step, or abandoned at the end. */
export function escalate(d: Draft, ctx: Ctx, why: string): Command {
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

export function stepDone(
  d: Draft,
  ctx: Ctx,
  detail: string,
  cordonedByUs: boolean | undefined,
): Command {
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

/** The alerts fired again after nodeheal uncordoned the node to confirm a resolution. */
export function confirmFailed(d: Draft, ctx: Ctx): Command {
  const step = currentStep(d);
  const since = d.confirmingSince ?? ctx.now;
  d.confirmingSince = null;
  d.faultResolvedAt = null;
  // The node was cordoned when the fault resolved: put it back that way for the next step.
  d.recordon = true;
  return escalate(
    d,
    ctx,
    `${step.action} did not clear ${faultNow(d)}: its alerts fired again ` +
      `${duration(ctx.now - since)} after nodeheal uncordoned the node (its cordon had silenced them)`,
  );
}

export function stepFailed(d: Draft, ctx: Ctx, detail: string, permanent: boolean): Command {
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

export function timeUp(d: Draft, ctx: Ctx): Command | undefined {
  const deadline = d.deadline ?? Number.POSITIVE_INFINITY;
  if (ctx.now < deadline) return undefined;
  const step = currentStep(d);
  switch (d.stepState) {
    case 'pending':
      return begin(d, ctx);
    case 'acting':
      return stepFailed(d, ctx, `no result within ${duration(step.timeoutMs)}`, true);
    case 'verifying':
      if (d.confirmingSince !== null) {
        // The alerts stayed resolved with the node uncordoned: the remedy did fix it.
        return finish(
          d,
          ctx,
          'healed',
          `${step.action} worked: ${faultNow(d)}'s alerts resolved at ${iso(d.faultResolvedAt ?? d.confirmingSince)} ` +
            `and stayed resolved for ${duration(d.uncordonSettleMs)} after nodeheal uncordoned the node`,
          'success',
        );
      }
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

export function faultResolved(
  d: Draft,
  ctx: Ctx,
  at: number,
  evidence?: string,
  underOwnCordon = false,
): Command | undefined {
  const step = currentStep(d);
  const resolvedAt = Number.isFinite(at) ? Math.min(at, ctx.now) : ctx.now;
  const shown = evidence === undefined ? '' : ` (${evidence})`;
  // Being confirmed already: only the settle period (or the alerts firing again) decides.
  if (d.confirmingSince !== null) return undefined;
  if (underOwnCordon) {
    // Maybe nodeheal's own cordon silenced the alerts: not a cure until confirmed uncordoned.
    if (d.stepState !== 'verifying' || step.action === 'replace') return undefined;
    d.confirmingSince = ctx.now;
    d.faultResolvedAt = resolvedAt;
    d.deadline = ctx.now + d.uncordonSettleMs;
    push(
      d,
      ctx,
      'confirming',
      'verifying',
      `${faultNow(d)}'s alerts resolved at ${iso(resolvedAt)} while nodeheal's cordon is on the ` +
        `node, which may be what silenced them: nodeheal uncordons it and counts ${step.action} ` +
        `as a cure only if they stay resolved until ${iso(d.deadline)}`,
    );
    return currentCommand(d);
  }
  if (d.stepState === 'pending') {
    d.faultResolvedAt = resolvedAt;
    if (!hasStarted(d)) {
      return finish(d, ctx, 'cancelled', `${d.fault} resolved before any step acted`);
    }
    return finish(
      d,
      ctx,
      'healed',
      `${faultNow(d)} resolved at ${iso(resolvedAt)}${shown} while ${step.action} waited to ${d.retries > 0 ? 'be retried' : 'start'}`,
    );
  }
  if (d.stepState === 'verifying' && step.action !== 'replace') {
    d.faultResolvedAt = resolvedAt;
    return finish(
      d,
      ctx,
      'healed',
      `${step.action} worked: ${faultNow(d)} resolved at ${iso(resolvedAt)}${shown}`,
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
        ? `${faultNow(d)} resolved at ${iso(resolvedAt)}${shown}; the replacement goes on`
        : `${faultNow(d)} resolved at ${iso(resolvedAt)}${shown} while ${step.action} runs; the heal ends when it completes`,
    );
  }
  return currentCommand(d);
}

/** What a replacement waits for, in words. */
export function capacityAwaited(d: HealRecord): string {
  const pool =
    d.poolReadyBefore === null ? '' : `pool ${d.pool} back at ${d.poolReadyBefore} Ready nodes`;
  const replacement = d.replacement === null ? '' : `replacement ${d.replacement} Ready`;
  const either = [replacement, pool].filter(Boolean).join(' or ');
  return either === '' ? `${d.node} to be gone` : `${d.node} gone and ${either}`;
}

export function nodeGone(d: Draft, ctx: Ctx): Command | undefined {
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
