// The heal runner: drives the pure ladder machine (`nextStep`) with real side effects, one stage
// per file: load and lock (here), start (start-step), gate (gate-step, hold-step), act
// (act-step, replace-step), verify (verify-step) and record (record-step). Every step re-reads
// the world first, every transition is saved before the next side effect, and a runner that dies
// is replaced by one that resumes from the saved record (steps are idempotent).
import type { V1Node } from '@kubernetes/client-node';
import type { HealRecord } from '../heal/index.ts';
import { currentCommand } from '../heal/index.ts';
import type { Command, Observation } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { uncordonedBySomeoneElse } from '../actions/index.ts';
import { takeLock } from '../store/index.ts';
import { readHistory } from '../store/index.ts';
import { actOnce } from './act-step.ts';
import { confirmStillFiring } from './confirm-step.ts';
import { checkAndHold, takeFreshGate } from './gate-step.ts';
import { nodeLockTtl } from './ghost-slots.ts';
import { CANCEL_POLL_MS, watchHeal, type HealControl } from './heal-control.ts';
import { watchLease } from './lease-watchdog.ts';
import { askApproval } from './approval-step.ts';
import { holdForApproval, refuse, waitForGate } from './hold-step.ts';
import { afterJoinedHeal, JOIN_RECHECK_MS, joinRunningHeal, newlyJoined } from './join-step.ts';
import { advance, finish, releaseNode } from './record-step.ts';
import { reannounceEvents } from './heal-events.ts';
import type { RunnerDeps, RunOutcome } from './runner-deps.ts';
import { sleepUntil } from './sleep.ts';
import { startHeal } from './start-step.ts';
import { confirmResolution, observe } from './verify-step.ts';

export type { RunnerDeps, RunnerMetrics, RunOutcome } from './runner-deps.ts';

/** Heal ids are derived from the BullMQ job id, so a retried or stalled job resumes its record. */
export function healIdFor(jobId: string): string {
  return `heal-${jobId}`;
}

export async function runHeal(
  job: HealJob,
  jobId: string,
  deps: RunnerDeps,
  signal: AbortSignal,
): Promise<RunOutcome> {
  const healId = healIdFor(jobId);
  const log = deps.logger.child({ healId, node: job.node, fault: job.fault });
  let record = await deps.store.get(healId);
  let firstNode: V1Node | undefined;

  if (!record) {
    const history = await readHistory(deps.redis, job.key);
    if (history && history.active.length === 0) {
      log.info('fault resolved before the heal started; nothing to do');
      return { kind: 'not-needed', reason: 'fault resolved before the heal was due' };
    }
    firstNode = await deps.nodeOps.get(job.node);
    if (!firstNode) {
      log.info('node no longer exists; nothing to heal');
      return { kind: 'not-needed', reason: 'node does not exist' };
    }
    // A late firing notification makes a heal due at once: is the fault still there?
    const held = await confirmStillFiring(deps, healId, job, history, firstNode);
    if (held !== undefined) return held;
  }

  if (!(await takeLock(deps.redis, job.node, healId, nodeLockTtl(deps)))) {
    // One heal per node: a new fault of a node being healed is recorded on that heal, and its
    // job waits for it to end (it is woken then, or looks again after JOIN_RECHECK_MS).
    const holder = record ? undefined : await joinRunningHeal(deps, job, jobId, healId);
    if (holder !== undefined) {
      log.info({ joined: holder }, 'the node is being healed: this fault is recorded on that heal');
      return { kind: 'joined', healId: holder, until: deps.now().getTime() + JOIN_RECHECK_MS };
    }
    log.info('another heal holds this node; trying again later');
    return {
      kind: 'deferred',
      until: deps.now().getTime() + deps.deferMs,
      gate: 'node-lock',
      detail: 'another heal runs on this node',
    };
  }
  if (!record && firstNode) {
    // This job joined a heal of the node earlier, and that heal has ended: what is left to do?
    const after = await afterJoinedHeal(deps, job, healId, firstNode);
    if (after !== undefined) {
      await releaseNode(deps, job.node, healId);
      return after;
    }
  }
  // The node lock and the budget slot's heartbeat: a heal that stops running loses both, and a
  // heal that may have lost its lock stops acting and is handed back, as at a shutdown.
  const lease = watchLease(deps, job.node, healId, log);
  // Cancel requests are watched for the whole heal: a cancel aborts what acts (the drain stops
  // evicting) and what waits, within `cancelPollMs`.
  const control = watchHeal(deps.store, healId, AbortSignal.any([signal, lease.signal]), {
    pollMs: deps.cancelPollMs ?? CANCEL_POLL_MS,
    onError: (error) => log.warn({ err: error }, 'could not read the cancel request'),
    // Only nodeheal's own cordon, and not while nodeheal itself uncordoned to confirm a fix.
    lookForUncordon: async () => {
      if (!record?.cordonedByUs || record.confirmingSince !== null) return undefined;
      if (record.status !== 'running') return undefined;
      const node = await deps.nodeOps.get(job.node);
      return node ? uncordonedBySomeoneElse(node) : undefined;
    },
  });
  try {
    if (!record) {
      const started = await startHeal(deps, healId, job, firstNode);
      if (!('transitions' in started)) {
        // Deferred or not started: nothing acts on the node, so another heal may take it.
        await releaseNode(deps, job.node, healId);
        return started;
      }
      record = started;
    } else {
      log.info(
        { step: record.stepIndex, state: record.stepState },
        'resuming heal from its record',
      );
      // The worker before may have died between saving a transition and writing its Event.
      reannounceEvents(deps, record);
      record = await advance(deps, record, { kind: 'start' });
    }

    for (;;) {
      // Shutting down, or the node lock may be lost: nothing more is recorded; the next worker
      // resumes from the record.
      if (control.shuttingDown()) {
        const reason = lease.lost()?.message ?? 'worker shutting down';
        return { kind: 'interrupted', record, reason };
      }
      const joined = record.status === 'running' ? await newlyJoined(deps, record) : undefined;
      if (joined !== undefined) {
        record = await advance(deps, record, { kind: 'fault-joined', fault: joined });
        continue;
      }
      const command = currentCommand(record);
      if (command.kind === 'finish') {
        await finish(deps, record, job, command);
        return { kind: 'finished', record };
      }
      const uncordoner = control.uncordonedBy();
      if (uncordoner) {
        const where = whereItStood(record);
        const next = await advance(deps, record, {
          kind: 'operator-uncordoned',
          by: uncordoner,
          detail: where,
        });
        // The signal is aborted: a heal the machine did not end this way ends as a cancel.
        record =
          next !== record
            ? next
            : await advance(deps, record, {
                kind: 'cancel',
                by: `uncordoned by ${uncordoner}`,
                detail: `cordon lifted while ${where}`,
              });
        continue;
      }
      const cancelledBy = await control.check();
      if (cancelledBy) {
        record = await advance(deps, record, {
          kind: 'cancel',
          by: cancelledBy,
          detail: `cancel requested while ${whereItStood(record)}`,
        });
        continue;
      }
      record = await execute(deps, record, job, command, control);
    }
  } finally {
    control.stop();
    lease.stop();
  }
}

/** Where a running heal stands, for the reason of a cancel. */
function whereItStood(record: HealRecord): string {
  const action = record.ladder[record.stepIndex]?.action ?? 'a step';
  if (record.stepState === 'acting') return `${action} was acting`;
  if (record.stepState === 'verifying') return `${action} was being verified`;
  return record.gate === null
    ? `${action} waited to start`
    : `${action} waited for safety gate ${record.gate}`;
}

async function execute(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Exclude<Command, { kind: 'finish' }>,
  control: HealControl,
): Promise<HealRecord> {
  const now = () => deps.now().getTime();
  const signal = control.signal;
  switch (command.kind) {
    case 'skip-step':
      return await advance(deps, record, { kind: 'tick' });
    case 'wait-retry': {
      await sleepUntil(command.until, deps, signal);
      if (signal.aborted) return record;
      return await advance(deps, record, { kind: 'tick' });
    }
    case 'wait-gate':
      return await waitForGate(deps, record, job, command, control);
    case 'confirm':
      return await confirmResolution(deps, record, job, command, signal);
    case 'verify': {
      while (now() < command.until && !signal.aborted) {
        const observed = await observe(deps, record, job);
        // An observation the machine ignores (seen already, or not a cure) is no reason to stop
        // waiting: without this the loop would ask again at once, without a pause.
        const next = observed ? await advance(deps, record, observed) : record;
        if (next !== record) return next;
        await sleepUntil(Math.min(command.until, now() + deps.pollMs), deps, signal);
      }
      if (signal.aborted) return record;
      return await advance(deps, record, { kind: 'tick' });
    }
    case 'act': {
      // The gates (and the node) may have been read for this very step a moment ago (just before
      // the heal started, or when a held step was let go): reading again would only add latency.
      const recent = takeFreshGate(record.id, command.stepIndex, now());
      const node = recent?.node ?? (await deps.nodeOps.get(record.node));
      if (!node) return await advance(deps, record, { kind: 'node-gone' });
      // `approval: outage`: asked before the other gates, so that a heal waiting for a human
      // says so rather than which budget it would also wait for.
      const approval = await askApproval(deps, record, node, command.step.action);
      if (approval.kind !== 'go')
        return await holdForApproval(deps, record, job, approval, command.stepIndex);
      const gate =
        recent?.result ??
        (await checkAndHold(
          deps,
          { healId: record.id, step: command.stepIndex, job },
          node,
          command.step.action,
        ));
      if (!gate.allowed) return await refuse(deps, record, job, gate, command.stepIndex);
      // Cancel (and shutdown) are looked at before every mutating call.
      if (signal.aborted) return record;
      let current = record;
      if (record.recordon && !record.cordonedByUs && !deps.dryRun) {
        // The fault came back after nodeheal uncordoned the node to confirm a fix: the node is
        // cordoned again, as it was, before the next step acts.
        const again = await deps.nodeOps.cordon(record.node);
        current = await advance(deps, record, {
          kind: 'cordoned',
          step: command.stepIndex,
          byUs: again === 'cordoned' || again === 'already-cordoned-by-us',
        });
      }
      if (!deps.dryRun)
        await deps.nodeOps.annotateHeal(
          record.node,
          `${record.id} ${command.stepIndex}:${command.step.action}`,
        );
      const acted = await act(deps, current, node, command, signal);
      deps.afterStep?.(
        {
          healId: record.id,
          node,
          pool: record.pool,
          action: command.step.action,
          step: command.stepIndex,
          fault: record.fault,
          alertLabels: job.labels,
        },
        acted.observation,
        signal.aborted,
      );
      // Interrupted: by a shutdown, nothing is recorded (the record still says this step is
      // acting, and whoever resumes it acts again: steps are idempotent); by a cancel, the loop
      // ends the heal (what the step did so far, e.g. nodeheal's cordon, is noted already).
      if (signal.aborted) return acted.record;
      return await advance(deps, acted.record, acted.observation);
    }
  }
}

/**
 * Performs one step's side effect and reports it as an observation for the machine, with the
 * record as saved meanwhile (a cordon is noted as soon as it is done; the replace step notes its
 * fence on it before it ends).
 */
async function act(
  deps: RunnerDeps,
  record: HealRecord,
  node: V1Node,
  command: Extract<Command, { kind: 'act' }>,
  signal: AbortSignal,
): Promise<{ observation: Observation; record: HealRecord }> {
  let latest = record;
  const note = async (observation: Observation) => {
    latest = await advance(deps, latest, observation);
    return latest;
  };
  const cordon = async () => {
    const result = await deps.nodeOps.cordon(record.node);
    if (result === 'cordoned' || result === 'already-cordoned-by-us')
      await note({ kind: 'cordoned', step: command.stepIndex, byUs: true });
    return result;
  };
  const observation = await actOnce(deps, record, node, command, signal, { note, cordon });
  return { observation, record: latest };
}
