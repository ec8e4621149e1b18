// The gate stage of a running heal: a gate that refuses the step about to act holds it (when it
// may lift, saying why and until when), and the held step asks the gates again until they let it
// act, watching meanwhile for the fault resolving, the node going and other faults joining.
import { ANNOTATION_APPROVE, type ApprovalAnswer, type HealRecord } from '../heal/index.ts';
import type { Command } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import type { GateResult } from '../safety/index.ts';
import { askApproval, noteApproved } from './approval-step.ts';
import { checkAndHold, rememberGate } from './gate-step.ts';
import { event, eventKey } from './heal-events.ts';
import type { HealControl } from './heal-control.ts';
import { newlyJoined } from './join-step.ts';
import { advance } from './record-step.ts';
import type { RunnerDeps } from './runner-deps.ts';
import { sleepUntil } from './sleep.ts';
import { faultObservation } from './verify-step.ts';

/** Tells the machine a gate refused step `step`; a gate that may lift holds it (and says so). */
export async function refuse(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  gate: Extract<GateResult, { allowed: false }>,
  step: number,
): Promise<HealRecord> {
  deps.metrics.safetyBlocked(gate.gate);
  const until = Math.max(gate.retryAt ?? 0, deps.now().getTime() + deps.deferMs);
  if (gate.defer) await noteHeld(deps, record, job, gate, until);
  return await advance(deps, record, {
    kind: 'safety-blocked',
    gate: gate.gate,
    detail: gate.detail,
    step,
    defer: gate.defer,
    until,
  });
}

export async function noteHeld(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  gate: Extract<GateResult, { allowed: false }>,
  until: number,
): Promise<void> {
  await deps.store.noteBlocked({
    healId: record.id,
    key: job.key,
    node: record.node,
    fault: record.fault,
    gate: gate.gate,
    detail: gate.detail,
    at: deps.now().getTime(),
    retryAt: until,
  });
}

/**
 * A step held by a gate that may lift (`wait-gate`): asks the gates again until they let it act
 * (`gate-cleared`), while watching for the fault resolving and the node going; a pause is looked
 * at every `cancelPollMs`, so a resume lets the step go at once.
 */
export async function waitForGate(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Extract<Command, { kind: 'wait-gate' }>,
  control: HealControl,
): Promise<HealRecord> {
  const step = command.stepIndex;
  const action = record.ladder[step]?.action;
  if (action === undefined) return await advance(deps, record, { kind: 'tick' });
  // The gates are asked again at `until` (a window's opening may be hours away); the fault
  // resolving, the node going and other faults joining are looked for every `pollMs` meanwhile,
  // so a fault that clears while held ends the heal at once (and undoes nodeheal's cordon).
  let until = command.until;
  for (;;) {
    // Waiting for an operator has no `until`: look for an answer every `pollMs`.
    const poll = deps.now().getTime() + deps.pollMs;
    const wake = command.gate === 'approval' ? poll : Math.min(until, poll);
    await sleepUntil(wake, deps, control.signal, command.gate === 'paused');
    if (control.signal.aborted) return record;
    const node = await deps.nodeOps.get(record.node);
    if (!node) return await advance(deps, record, { kind: 'node-gone' });
    const resolved = await faultObservation(deps, node, record, job);
    const next = resolved ? await advance(deps, record, resolved) : record;
    if (next !== record) return next;
    const joined = await newlyJoined(deps, record);
    if (joined) return await advance(deps, record, { kind: 'fault-joined', fault: joined });
    if (command.gate === 'approval') {
      // An operator's answer is looked for every `pollMs`: a yes lets the other gates be asked
      // at once, a no ends the heal.
      const answer = await askApproval(deps, record, node, action);
      if (answer.kind === 'rejected') return await holdForApproval(deps, record, job, answer, step);
      if (answer.kind === 'wait') continue;
      await noteApproved(deps, record, answer);
    } else {
      // A pause lifting wakes the sleep early: ask the gates at once then.
      const pauseLifted = command.gate === 'paused' && (await deps.store.paused()) === undefined;
      if (deps.now().getTime() < until && !pauseLifted) continue;
    }
    const gate = await checkAndHold(deps, { healId: record.id, step, job }, node, action);
    if (gate.allowed) {
      await deps.store.clearBlocked(record.id);
      rememberGate(record.id, { step, at: deps.now().getTime(), result: gate, node });
      return await advance(deps, record, { kind: 'gate-cleared', step });
    }
    if (!gate.defer || gate.gate !== command.gate) {
      return await refuse(deps, record, job, gate, step);
    }
    until = Math.max(gate.retryAt ?? 0, deps.now().getTime() + deps.deferMs);
    await noteHeld(deps, record, job, gate, until);
  }
}

/**
 * Acts on an answer that is not `go`: a rejection ends the heal `cancelled` (nodeheal's cordon
 * undone, as for any cancel); a wait holds the step with gate `approval` and says so in a
 * Warning Event once, when the heal starts waiting.
 */
export async function holdForApproval(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  answer: Exclude<ApprovalAnswer, { kind: 'go' }>,
  step: number,
): Promise<HealRecord> {
  if (answer.kind === 'rejected') {
    const { decision } = answer;
    const why = decision.reason ? `: ${decision.reason}` : '';
    deps.logger.warn(
      { healId: record.id, node: record.node, fault: record.fault, by: decision.by },
      `heal rejected${why}`,
    );
    return await advance(deps, record, {
      kind: 'cancel',
      by: decision.by,
      detail: `approval rejected by ${decision.by}${why}`,
    });
  }
  if (record.gate !== 'approval') {
    await event(
      deps,
      record.node,
      'HealAwaitingApproval',
      `heal ${record.id} (${record.fault}): ${answer.detail}; approve with POST /heals/${record.id}/approve or annotate the node ${ANNOTATION_APPROVE}=${record.id}`,
      'Warning',
      eventKey(record.id, `s${record.stepIndex}`, 'HealAwaitingApproval'),
    );
  }
  return await refuse(
    deps,
    record,
    job,
    { allowed: false, gate: 'approval', detail: answer.detail, defer: true },
    step,
  );
}
