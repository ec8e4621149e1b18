// The start of a heal, once its node is locked: the gates are asked for the first step before
// anything is created. A gate that may lift defers the job (no record); one that will not skips
// the heal (one HealSkipped Event, nothing on the node); otherwise the record is created and the
// first step begins.
import type { V1Node } from '@kubernetes/client-node';
import { isDisruptive, newHealRecord, type HealCost, type HealRecord } from '../heal/index.ts';
import { orderFastest, poolOf } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { matchFault } from '../rules/index.ts';
import type { GateResult } from '../safety/index.ts';
import { readStepDurations, readSuccessRates, updateHistory } from '../store/index.ts';
import { markHealStarted } from '../triage/index.ts';
import { poolReadyCount } from './capacity.ts';
import { checkAndHold, rememberGate } from './gate-step.ts';
import { event, eventKey } from './heal-events.ts';
import { advance } from './record-step.ts';
import type { RunnerDeps, RunOutcome } from './runner-deps.ts';

/**
 * Creates the record of a new heal once the gates were asked for its first step: a gate that
 * may lift defers the job (no record); one that will not lift skips the heal (nothing written on
 * the node but one HealSkipped Event); otherwise the heal starts.
 */
export async function startHeal(
  deps: RunnerDeps,
  healId: string,
  job: HealJob,
  firstNode: V1Node | undefined,
): Promise<HealRecord | RunOutcome> {
  const fault =
    deps.catalog().faults.find((f) => f.name === job.fault) ??
    matchFault(deps.catalog(), { alertname: job.alertname, labels: job.labels });
  // Read a moment ago, just above; a resumed heal re-reads at its next step anyway.
  const node = firstNode ?? (await deps.nodeOps.get(job.node));
  const first = fault.ladder[0];
  let refused: Extract<GateResult, { allowed: false }> | undefined;
  if (node && first) {
    // Ask the gates before anything is created: a heal that must wait (storm, budget, pause,
    // cooldown) is delayed, not started and abandoned.
    // Holding the slot from here keeps two heals from both passing this check at once.
    const gate = await checkAndHold(deps, { healId, step: 0, job }, node, first.action);
    if (gate.allowed) {
      rememberGate(healId, { step: 0, at: deps.now().getTime(), result: gate, node });
    } else {
      deps.metrics.safetyBlocked(gate.gate);
      if (gate.defer) {
        await deps.store.noteBlocked({
          healId,
          key: job.key,
          node: job.node,
          fault: job.fault,
          gate: gate.gate,
          detail: gate.detail,
          at: deps.now().getTime(),
          retryAt: gate.retryAt ?? deps.now().getTime() + deps.deferMs,
        });
        await event(
          deps,
          job.node,
          'HealSkipped',
          `heal ${healId} for ${job.fault} waits: ${gate.gate}: ${gate.detail}`,
          'Warning',
          // Once per gate: a heal held by a storm or a budget asks again every few seconds, and
          // the status API shows where it stands meanwhile.
          eventKey(healId, 'waits', gate.gate),
        );
        deps.logger.info(
          { healId, node: job.node, fault: job.fault, gate: gate.gate },
          `heal deferred: ${gate.detail}`,
        );
        return {
          kind: 'deferred',
          until: Math.max(gate.retryAt ?? 0, deps.now().getTime() + deps.deferMs),
          gate: gate.gate,
          detail: gate.detail,
        };
      }
      refused = gate;
    }
  }
  await deps.store.clearBlocked(healId);
  const { pool } = poolOf(node, deps.poolLabels);
  // The pool's Ready nodes now: a replacement is done when the pool is back at this count.
  const counted = node ? await poolReadyCount(deps, node) : undefined;
  const cost = node && !refused ? await costBefore(deps, job, fault.ladder) : undefined;
  let record = newHealRecord({
    id: healId,
    node: job.node,
    fault: fault.name,
    pool,
    ladder: fault.ladder,
    faultStartedAt: new Date(job.startsAt),
    dryRun: deps.dryRun,
    now: deps.now(),
    ...(counted ? { poolReadyBefore: counted.ready, poolLabel: counted.label } : {}),
    nodeStartupTimeoutMs: deps.nodeStartupTimeoutMs,
    uncordonSettleMs: deps.uncordonSettleMs,
    alert: job,
    ...(cost ? { cost } : {}),
  });
  // `order: fastest`: the record's copy of the ladder is put in the order decided now, and why.
  if (fault.order === 'fastest') {
    const [durations, rates] = await Promise.all([
      readStepDurations(deps.redis),
      readSuccessRates(deps.redis),
    ]);
    const order = orderFastest(record.ladder, pool, fault.name, durations, rates);
    record = { ...record, ladder: [...order.ladder], ladderOrder: order.note };
    deps.logger.info({ healId, node: job.node, fault: fault.name, pool }, order.note);
  }
  // Refused for good before anything acted (opt-out, control plane): the record says `skipped`
  // (the daily cap may instead send the heal straight to a disruptive step).
  record = await advance(
    deps,
    record,
    refused
      ? { kind: 'safety-blocked', gate: refused.gate, detail: refused.detail, step: 0 }
      : { kind: 'start' },
  );
  if (record.status === 'running') {
    deps.metrics.healStarted(record.fault);
    await updateHistory(deps.redis, job.key, (h) => markHealStarted(h, healId, deps.now()));
  }
  return record;
}

/**
 * What the heal's disruptive steps (drain, replace, reboot) will cost the node's workloads,
 * worked out once before it starts; nothing for a ladder without one. A read that fails is
 * logged and leaves the cost out: it never holds a heal back.
 */
async function costBefore(
  deps: RunnerDeps,
  job: HealJob,
  ladder: readonly { action: Parameters<typeof isDisruptive>[0] }[],
): Promise<HealCost | undefined> {
  if (!deps.costReader || !ladder.some((s) => isDisruptive(s.action))) return undefined;
  try {
    return await deps.costReader.costOf(job.node);
  } catch (error) {
    deps.logger.warn(
      { err: error, node: job.node, fault: job.fault },
      'could not work out what the heal would disrupt',
    );
    return undefined;
  }
}
