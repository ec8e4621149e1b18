// The ladder machine's answer to a safety gate in the way of a step: the daily cap skips to the
// first step it allows, a gate that may lift holds the step, one that will not ends the heal
// (skipped if nothing was done yet, else abandoned). Pure.
import { currentStep, isExpertRemedy } from './heal-record.ts';
import {
  cordonNote,
  finish,
  hasStarted,
  iso,
  moveTo,
  push,
  type Ctx,
  type Draft,
} from './ladder-draft.ts';
import { begin } from './ladder-steps.ts';
import type { Command, Observation } from './observation.ts';
import { currentCommand } from './step-command.ts';

export function safetyBlocked(
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
    // An operator's answer has no time to ask again at: the detail says what it waits for.
    push(
      d,
      ctx,
      'held',
      'pending',
      gate === 'approval'
        ? detail
        : `${step.action} waits for safety gate ${gate}: ${detail}; asking again at ${iso(until)}`,
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
