// The ladder machine's side of "one heal per node" (see joined-faults.ts): a fault that joins the
// heal is recorded, and a more drastic ladder takes over at the next step boundary. Pure.
import { currentStep, type JoinedFault } from './heal-record.ts';
import { describeLadder, isNewToHeal, ladderMovedTo, outranks } from './joined-faults.ts';
import { actedAtStep, moveTo, push, type Ctx, type Draft } from './ladder-draft.ts';
import type { Command } from './observation.ts';
import { currentCommand } from './step-command.ts';

/**
 * A fault of the node came due while this heal runs: recorded on the heal. When its ladder is
 * more drastic than where the heal goes next, the heal moves to it at the next step boundary:
 * at once when no step is in flight, else when the current step is over (a remedy that did not
 * clear its fault, or a preparation done); a step that heals its fault ends the heal.
 */
export function joinFault(d: Draft, ctx: Ctx, joined: JoinedFault): Command | undefined {
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
export function dueLadderChange(d: Draft, next: number): JoinedFault | undefined {
  const joined = d.joined.find((j) => j.fault === d.switchTo);
  d.switchTo = null;
  return joined !== undefined && outranks(joined.ladder, d.ladder, next) ? joined : undefined;
}

/** Puts the joined fault's ladder in place from step `at` on, pending and due now. */
export function changeLadder(d: Draft, ctx: Ctx, joined: JoinedFault, at: number): void {
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
