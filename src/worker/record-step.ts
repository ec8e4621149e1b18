// The record stage: every observation goes through the pure `nextStep`, the new record is saved
// before anything else happens, and each new transition is announced (log, Event, metrics). A
// heal that ends cleans up after itself and lets go of its node.
import type { HealRecord } from '../heal/index.ts';
import { nextStep } from '../heal/index.ts';
import type { Command, Observation } from '../heal/index.ts';
import { ratesFrom, recordStepResults, stepResults } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { releaseLock } from '../store/index.ts';
import { readSuccessRates, updateHistory, updateSuccessRates } from '../store/index.ts';
import { markHealFinished } from '../triage/index.ts';
import { forgetGate, releaseBudgetSlot } from './gate-step.ts';
import { announce, flushEvents } from './heal-events.ts';
import { wakeJoined } from './join-step.ts';
import type { RunnerDeps } from './runner-deps.ts';

/** Applies an observation, saves the record, and tells the world about each new transition. */
export async function advance(
  deps: RunnerDeps,
  record: HealRecord,
  observation: Observation,
): Promise<HealRecord> {
  const rates = await readSuccessRates(deps.redis);
  const { record: next, changed } = nextStep(record, observation, deps.now(), ratesFrom(rates));
  if (!changed) return record;
  await deps.store.save(next);
  const results = stepResults(record, next);
  if (results.length > 0) {
    for (const r of results)
      deps.metrics.remedyAttempt(r.action, r.success ? 'success' : 'failure');
    await updateSuccessRates(deps.redis, (t) => recordStepResults(t, results));
  }
  for (const t of next.transitions.slice(record.transitions.length)) announce(deps, next, t);
  return next;
}

export async function finish(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Extract<Command, { kind: 'finish' }>,
): Promise<void> {
  await flushEvents(record.id);
  forgetGate(record.id);
  await deps.store.clearBlocked(record.id);
  const now = deps.now();
  if (command.uncordon && !deps.dryRun) {
    const uncordoned = await deps.nodeOps.uncordon(record.node);
    deps.logger.info(
      { healId: record.id, node: record.node, result: uncordoned },
      `heal ${record.status}: nodeheal's cordon undone`,
    );
  }
  // A Node that carries the fenced node's name now (it rebooted and rejoined, or a new machine
  // took the name) must not keep the out-of-service taint: only a taint nodeheal set goes.
  if (record.outOfServiceAt !== null && !deps.dryRun)
    await deps.nodeOps.removeOutOfService(record.node);
  // Only a heal that acted can have put its annotation on the node: a skipped heal (or one
  // cancelled before it started) writes nothing there.
  const acted = record.transitions.some((t) => t.kind === 'started');
  if (acted && !deps.dryRun && (await deps.nodeOps.get(record.node)))
    await deps.nodeOps.annotateHeal(record.node, null);
  if (!deps.dryRun) await releaseBudgetSlot(deps, record.id, now);
  await updateHistory(deps.redis, job.key, (h) => (h ? markHealFinished(h) : undefined));
  await releaseNode(deps, record.node, record.id);
  const duration = ((record.endedAt ?? now.getTime()) - record.createdAt) / 1000;
  const tth =
    record.status === 'healed' && record.faultResolvedAt
      ? (record.faultResolvedAt - record.faultStartedAt) / 1000
      : undefined;
  deps.metrics.healFinished(record.fault, record.status, duration, tth);
  // Abandoned at a replace step once the old node was gone: the replacement never became Ready.
  if (
    record.status === 'abandoned' &&
    record.nodeGone &&
    record.ladder[record.stepIndex]?.action === 'replace'
  )
    deps.metrics.replacementNotReady?.(record.pool);
}

/** Lets go of the node and wakes the jobs that joined this heal meanwhile. */
export async function releaseNode(deps: RunnerDeps, node: string, healId: string): Promise<void> {
  const joined = await releaseLock(deps.redis, node, healId);
  // A job not woken looks again by itself (JOIN_RECHECK_MS): waking is not worth failing for.
  await wakeJoined(deps, joined).catch((error: unknown) =>
    deps.logger.warn({ err: error, healId }, 'could not wake the jobs that joined this heal'),
  );
}
