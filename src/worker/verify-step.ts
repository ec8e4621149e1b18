// The verify stage: has the fault resolved (its alert, or the node condition it names), is the
// node gone, is capacity back after a replacement, or did another fault join the heal?
import type { V1Node } from '@kubernetes/client-node';
import type { HealRecord } from '../heal/index.ts';
import { followedJoinedFault } from '../heal/index.ts';
import type { Command, Observation } from '../heal/index.ts';
import { conditionHealthy } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { readHistory } from '../store/index.ts';
import { observeCapacity } from './capacity.ts';
import { newlyJoined } from './join-step.ts';
import { advance } from './record-step.ts';
import type { RunnerDeps } from './runner-deps.ts';
import { sleepUntil } from './sleep.ts';

/** Looks for the fault resolving (alert resolved, or the condition healthy) or the node being gone. */
export async function observe(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
): Promise<Observation | undefined> {
  const joined = await newlyJoined(deps, record);
  if (joined) return { kind: 'fault-joined', fault: joined };
  const node = await deps.nodeOps.get(record.node);
  if (!node) {
    if (!record.nodeGone) return { kind: 'node-gone' };
    // Replaced: is the capacity back (the replacement, or the pool at its earlier Ready count)?
    const selector = record.poolLabel ? `${record.poolLabel}=${record.pool}` : undefined;
    return await observeCapacity(deps, record, selector);
  }
  return await faultObservation(deps, node, record, job);
}

/**
 * `fault-resolved` when the fault is fixed: the heal's own fault, or the joined one whose ladder
 * it follows. A resolution nodeheal may have caused itself is not a cure:
 * - when the alert names what the API shows (a node condition, a node taint), the API decides:
 *   healthy there is resolved, whatever the alert; still bad there is not, even if the alert
 *   resolved (kube-prometheus-stack's rules stop firing once a node is cordoned);
 * - otherwise the alert resolving decides, unless nodeheal's own cordon is on the node (then
 *   the resolution may be the cordon's doing, and the ladder goes on).
 */
export async function faultObservation(
  deps: RunnerDeps,
  node: V1Node,
  record: HealRecord,
  job: HealJob,
): Promise<Observation | undefined> {
  const fault = followedJoinedFault(record) ?? job;
  const healthy = conditionHealthy(node, fault.labels);
  const at = deps.now().getTime();
  if (healthy === true) return { kind: 'fault-resolved', at, evidence: apiEvidence(fault.labels) };
  if (healthy === false) return undefined;
  const history = await readHistory(deps.redis, fault.key);
  if (history === undefined || history.active.length > 0) return undefined;
  return {
    kind: 'fault-resolved',
    at,
    evidence: 'its alerts resolved',
    // The cordon may be what silenced them: the machine confirms with the node uncordoned.
    ...(record.cordonedByUs ? { underOwnCordon: true } : {}),
  };
}

/**
 * The `confirm` command: the fault's alerts resolved under nodeheal's own cordon. The node is
 * uncordoned, then the alerts are watched until `until`: firing again is `fault-firing` (the
 * machine re-cordons and goes on with the ladder), staying resolved is a `tick` at `until` (the
 * heal is healed). The node going away is `node-gone`.
 */
export async function confirmResolution(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Extract<Command, { kind: 'confirm' }>,
  signal: AbortSignal,
): Promise<HealRecord> {
  let current = record;
  if (command.uncordon && !deps.dryRun) {
    await deps.nodeOps.uncordon(record.node);
    current = await advance(deps, current, { kind: 'uncordoned', step: command.stepIndex });
  }
  const fault = followedJoinedFault(current) ?? job;
  const now = () => deps.now().getTime();
  while (now() < command.until && !signal.aborted) {
    if (!(await deps.nodeOps.get(current.node)))
      return await advance(deps, current, { kind: 'node-gone' });
    const history = await readHistory(deps.redis, fault.key);
    if (history !== undefined && history.active.length > 0)
      return await advance(deps, current, { kind: 'fault-firing' });
    await sleepUntil(Math.min(command.until, now() + deps.pollMs), deps, signal);
  }
  if (signal.aborted) return current;
  return await advance(deps, current, { kind: 'tick' });
}

/** What the API showed, in words, for the record. */
function apiEvidence(labels: Readonly<Record<string, string>>): string {
  if (labels.key !== undefined && labels.effect !== undefined)
    return `the node has no ${labels.key}:${labels.effect} taint`;
  return labels.condition === 'Ready'
    ? 'the node is Ready in the API'
    : `the node's ${labels.condition} condition is no longer ${labels.status} in the API`;
}
