// The verify stage: has the fault resolved (its alert, or the node condition it names), is the
// node gone, is capacity back after a replacement, or did another fault join the heal?
import type { V1Node } from '@kubernetes/client-node';
import type { HealRecord } from '../heal/index.ts';
import { followedJoinedFault } from '../heal/index.ts';
import type { Observation } from '../heal/index.ts';
import { conditionHealthy } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { readHistory } from '../store/index.ts';
import { observeCapacity } from './capacity.ts';
import { newlyJoined } from './join-step.ts';
import type { RunnerDeps } from './runner-deps.ts';

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
 * `fault-resolved` when the fault's alert resolved or the node's condition is healthy again: the
 * heal's own fault, or the joined one whose ladder it follows.
 */
export async function faultObservation(
  deps: RunnerDeps,
  node: V1Node,
  record: HealRecord,
  job: HealJob,
): Promise<Observation | undefined> {
  const fault = followedJoinedFault(record) ?? job;
  const history = await readHistory(deps.redis, fault.key);
  const resolvedByAlert = history !== undefined && history.active.length === 0;
  const healthy = conditionHealthy(node, fault.labels);
  if (resolvedByAlert || healthy === true)
    return { kind: 'fault-resolved', at: deps.now().getTime() };
  return undefined;
}
