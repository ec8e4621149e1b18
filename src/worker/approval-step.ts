// The runner's side of `approval: outage` (heal/approval.ts): before a disruptive step acts, read
// what an operator decided (admin API in Redis, or an annotation on the Node); hold-step.ts holds
// the step (gate `approval`) or ends the heal when the answer is no.
import type { V1Node } from '@kubernetes/client-node';
import {
  approvalAnswer,
  approvalFor,
  type ApprovalAnswer,
  type HealRecord,
} from '../heal/index.ts';
import type { RemedyAction } from '../rules/index.ts';
import { event, eventKey } from './heal-events.ts';
import type { RunnerDeps } from './runner-deps.ts';

/** What the operator said, or whether the step must wait for them (see `approvalAnswer`). */
export async function askApproval(
  deps: RunnerDeps,
  record: HealRecord,
  node: V1Node,
  action: RemedyAction,
): Promise<ApprovalAnswer> {
  const catalog = deps.catalog();
  const fault =
    catalog.faults.find((f) => f.name === record.fault) ??
    (catalog.generic.name === record.fault ? catalog.generic : undefined);
  const mode = approvalFor(fault?.approval, deps.approvalRules ?? [], node.metadata?.labels ?? {});
  if (mode === 'none' || deps.dryRun) return { kind: 'go' };
  const stored = await deps.store.approvalDecision(record.id);
  const answer = approvalAnswer({
    healId: record.id,
    mode,
    action,
    node,
    cost: record.cost ?? undefined,
    stored,
    now: deps.now().getTime(),
  });
  // A decision read from the Node is kept with the heal, so that its status says who decided
  // even after the annotation is gone.
  const decided =
    answer.kind === 'go'
      ? answer.approved
      : answer.kind === 'rejected'
        ? answer.decision
        : undefined;
  if (decided && stored?.decision !== decided.decision) await deps.store.decideApproval(decided);
  return answer;
}

/** Says why a step held for approval goes on: an operator approved it (an Event too), or the node is down. */
export async function noteApproved(
  deps: RunnerDeps,
  record: HealRecord,
  answer: Extract<ApprovalAnswer, { kind: 'go' }>,
): Promise<void> {
  const approved = answer.approved;
  const message = approved
    ? `approved by ${approved.by}${approved.reason ? `: ${approved.reason}` : ''}`
    : 'no longer waits for approval (the node is not Ready: already an outage)';
  deps.logger.info({ healId: record.id, node: record.node, fault: record.fault }, message);
  if (approved)
    await event(
      deps,
      record.node,
      'HealApproved',
      `heal ${record.id} (${record.fault}): ${message}`,
      'Normal',
      eventKey(record.id, `s${record.stepIndex}`, 'HealApproved'),
    );
}
