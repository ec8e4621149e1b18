// The working copy the ladder machine changes, and the primitives every move uses: record a
// transition, end the heal, put the heal on a step. Pure.
import type { RemedyAction } from '../rules/index.ts';
import { formatDuration } from '../rules/index.ts';
import {
  currentStep,
  recordState,
  type FinalStatus,
  type HealRecord,
  type RecordState,
  type Transition,
  type TransitionKind,
} from './heal-record.ts';
import { faultOfStep } from './joined-faults.ts';
import type { Command } from './observation.ts';
import { currentCommand } from './step-command.ts';

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

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function duration(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms)));
}

// A working copy: the functions below mutate it, never the caller's record.
export type Draft = HealRecord;

export interface Ctx {
  readonly now: number;
  readonly rates: StepRates | undefined;
}

export function push(
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
export function faultNow(d: HealRecord): string {
  return faultOfStep(d, d.stepIndex);
}

export function hasStarted(d: HealRecord): boolean {
  return d.transitions.some((t) => t.kind === 'started');
}

/** The current step has acted at least once (it is in flight, verifying, or waiting to retry). */
export function actedAtStep(d: HealRecord): boolean {
  return d.stepState !== 'pending' || d.retries > 0;
}

export function cordonNote(d: HealRecord): string {
  return d.cordonedByUs ? '; the node stays cordoned' : '';
}

export function finish(
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

/** Puts the record on step `index`, pending and due now. */
export function moveTo(d: Draft, ctx: Ctx, index: number): void {
  d.stepIndex = index;
  d.stepState = 'pending';
  d.retries = 0;
  d.deadline = ctx.now;
  d.stepStartedAt = ctx.now;
}
