// The record stage: every observation goes through the pure `nextStep`, the new record is saved
// before anything else happens, and each new transition is announced (log, Event, metrics). A
// heal that ends cleans up after itself and lets go of its node.
import type { HealRecord } from '../heal/index.ts';
import { nextStep } from '../heal/index.ts';
import type { Command, Observation } from '../heal/index.ts';
import { healPhases, ratesFrom, recordStepResults, stepResults } from '../heal/index.ts';
import { recordDurations, stepDurations } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { releaseLock } from '../store/index.ts';
import { readSuccessRates, updateHistory, updateSuccessRates } from '../store/index.ts';
import { updateStepDurations } from '../store/index.ts';
import { markHealFinished } from '../triage/index.ts';
import { forgetGate, releaseBudgetSlot } from './gate-step.ts';
import { announce, flushEvents } from './heal-events.ts';
import { wakeJoined } from './join-step.ts';
import type { HealStage, RunnerDeps } from './runner-deps.ts';

/** Applies an observation, saves the record, and tells the world about each new transition. */
export async function advance(
  deps: RunnerDeps,
  record: HealRecord,
  observation: Observation,
): Promise<HealRecord> {
  const rates = await readSuccessRates(deps.redis);
  const { record: next, changed } = nextStep(record, observation, deps.now(), ratesFrom(rates));
  if (!changed) {
    // A resumed heal's first observation may change nothing: its step is shown all the same.
    showStep(deps, record);
    return record;
  }
  await deps.store.save(next);
  showStep(deps, next);
  const results = stepResults(record, next);
  if (results.length > 0) {
    for (const r of results)
      deps.metrics.remedyAttempt(r.action, r.success ? 'success' : 'failure');
    await updateSuccessRates(deps.redis, (t) => recordStepResults(t, results));
    // How long each attempt took, per pool: what `order: fastest` and the status page read.
    const durations = stepDurations(record, next);
    if (durations.length > 0)
      await updateStepDurations(deps.redis, (t) => recordDurations(t, durations));
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
  if (!deps.dryRun) {
    // An operator who lifted nodeheal's cordon took this fault over: the cooldown is for it.
    const takenOver = record.uncordonedBy !== null ? record.fault : undefined;
    await releaseBudgetSlot(deps, record.id, now, takenOver);
  }
  await updateHistory(deps.redis, job.key, (h) => (h ? markHealFinished(h) : undefined));
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
  deps.metrics.healStep?.(record.id, null);
  if (record.status !== 'skipped') deps.metrics.healStages?.(healStageSeconds(record, job));
  // Last: a heal lets go of its node only once everything it owes is done (Events written,
  // cordon and annotation undone, slot released, metrics counted), so whoever takes the node next
  // (or reads it) sees the whole of this heal's ending.
  await releaseNode(deps, record.node, record.id);
}

/** The step a running heal is on, for the metrics (none once it ended). */
function showStep(deps: RunnerDeps, record: HealRecord): void {
  if (record.status !== 'running') {
    deps.metrics.healStep?.(record.id, null);
    return;
  }
  deps.metrics.healStep?.(record.id, {
    node: record.node,
    fault: record.fault,
    step: record.stepIndex,
    action: record.ladder[record.stepIndex]?.action ?? '',
    state: record.stepState === 'pending' && record.gate !== null ? 'held' : record.stepState,
    gate: record.gate ?? '',
    startedAt: record.stepStartedAt,
  });
}

/**
 * The seconds an ended heal spent in each stage: `healPhases`, the split the heal's status page
 * shows (detection, debounce, queued, gates, acting, verification). A record written before
 * origins were kept takes the alert's times from its job.
 */
export function healStageSeconds(
  record: HealRecord,
  job: Pick<HealJob, 'alertname' | 'fingerprint' | 'labels' | 'scheduledAt' | 'dueAt'>,
): Record<HealStage, number> {
  const origin = record.origin ?? {
    alertname: job.alertname,
    fingerprint: job.fingerprint,
    labels: job.labels,
    annotations: {},
    generatorURL: '',
    sourceURL: '',
    receivedAt: Date.parse(job.scheduledAt),
    dueAt: Date.parse(job.dueAt),
  };
  const phases = healPhases({ ...record, origin }, record.endedAt ?? record.updatedAt);
  return {
    detection: (phases.detectionMs ?? 0) / 1000,
    debounce: (phases.debounceMs ?? 0) / 1000,
    queued: (phases.queuedMs ?? 0) / 1000,
    gates: phases.gatesMs / 1000,
    acting: phases.actingMs / 1000,
    verification: phases.verificationMs / 1000,
  };
}

/** Lets go of the node and wakes the jobs that joined this heal meanwhile. */
export async function releaseNode(deps: RunnerDeps, node: string, healId: string): Promise<void> {
  const joined = await releaseLock(deps.redis, node, healId);
  // A job not woken looks again by itself (JOIN_RECHECK_MS): waking is not worth failing for.
  await wakeJoined(deps, joined).catch((error: unknown) =>
    deps.logger.warn({ err: error, healId }, 'could not wake the jobs that joined this heal'),
  );
}
