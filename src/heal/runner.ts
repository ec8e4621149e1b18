// The heal runner: drives the pure ladder machine (`nextStep`) with real side effects. Every
// step re-reads the world first, every transition is saved before the next side effect, and a
// runner that dies is replaced by one that resumes from the saved record (steps are idempotent).
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type {
  DrainOptions,
  Drainer,
  HostCommands,
  NodeOps,
  Provider,
} from '../actions/interfaces.ts';
import type { Logger } from '../log/index.ts';
import { casUpdate, jsonParser } from '../queue/cas.ts';
import type { HealJob } from '../queue/heal-job.ts';
import type { Catalog } from '../rules/index.ts';
import { matchFault } from '../rules/index.ts';
import type { GateResult, MaintenanceWindow, SafetyConfig } from '../safety/index.ts';
import {
  faultHistorySchema,
  markHealFinished,
  markHealStarted,
  type FaultHistory,
} from '../triage/index.ts';
import {
  checkAndHold,
  forgetGate,
  releaseBudgetSlot,
  rememberGate,
  takeFreshGate,
} from './gate-check.ts';
import { CANCEL_POLL_MS, watchHeal, type HealControl } from './heal-control.ts';
import { announce, event, flushEvents } from './heal-events.ts';
import { newHealRecord, type HealRecord } from './heal-record.ts';
import { SUCCESS_RATES_KEY, type HealStore } from './heal-store.ts';
import { currentCommand, nextStep } from './next-step.ts';
import type { Command, Observation } from './observation.ts';
import {
  ratesFrom,
  recordStepResults,
  stepResults,
  successTableSchema,
  type SuccessTable,
} from './success-rate.ts';
import { LOCK_TTL_MS, releaseLock, takeLock } from './node-lock.ts';
import {
  afterJoinedHeal,
  JOIN_RECHECK_MS,
  joinRunningHeal,
  newlyJoined,
  wakeJoined,
} from './join-step.ts';
import { followedJoinedFault } from './joined-faults.ts';
import { observeCapacity, poolReadyCount } from './capacity.ts';
import { actOnce } from './act-step.ts';
import { conditionHealthy, poolOf } from './world.ts';

export interface RunnerMetrics {
  healStarted(fault: string): void;
  healFinished(
    fault: string,
    outcome: string,
    durationSeconds: number,
    timeToHealSeconds?: number,
  ): void;
  remedyAttempt(remedy: string, result: string): void;
  safetyBlocked(gate: string): void;
  stormActive(active: boolean): void;
}

export interface RunnerDeps {
  redis: Redis;
  store: HealStore;
  nodeOps: NodeOps;
  drainer: Drainer;
  /** The provider of the node's pool; undefined when none is configured for it. */
  providerFor: (node: V1Node) => Provider | undefined;
  /** The self-fence of the node's pool (NODEHEAL_SELF_FENCE), when the pool opted in. */
  selfFenceFor: (node: V1Node) => { safeTimeSeconds: number } | undefined;
  host: HostCommands;
  listNodes: (labelSelector?: string) => Promise<V1Node[]>;
  catalog: () => Catalog;
  safety: Partial<SafetyConfig>;
  /** Maintenance windows per pool (NODEHEAL_MAINTENANCE_WINDOWS). */
  windows: readonly MaintenanceWindow[];
  /** How long a replacement may take to be Ready before the heal is abandoned. */
  nodeStartupTimeoutMs: number;
  poolLabels: readonly string[];
  dryRun: boolean;
  drain: Omit<DrainOptions, 'timeoutMs' | 'signal'>;
  metrics: RunnerMetrics;
  logger: Logger;
  now: () => Date;
  /** How often to look for the fault resolving while a step is verified. */
  pollMs: number;
  /** How long to wait before asking the gates again when a heal is deferred. */
  deferMs: number;
  /** Bring the replacement up before draining, where the node's provider can (`canSurge`). */
  surge: boolean;
  /** How often a running heal looks for a cancel request (and a held one for the pause lifting). */
  cancelPollMs?: number;
  /** Wakes delayed jobs at once (those that joined a heal that has ended). */
  wakeJobs: (jobIds: string[]) => Promise<void>;
}

export type RunOutcome =
  | { kind: 'finished'; record: HealRecord }
  | { kind: 'deferred'; until: number; gate: string; detail: string }
  | { kind: 'not-needed'; reason: string }
  /** Another heal runs on the node: the job's fault is recorded on it; look again at `until`. */
  | { kind: 'joined'; healId: string; until: number }
  | { kind: 'interrupted'; record?: HealRecord };

const RATES_KEY = SUCCESS_RATES_KEY;
const historyKey = (key: string) => `nodeheal:history:${key}`;

const parseHistory = jsonParser<FaultHistory>(faultHistorySchema);
const parseRates = jsonParser<SuccessTable>(successTableSchema);

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
    const history = parseHistoryRaw(await deps.redis.get(historyKey(job.key)));
    if (history && history.active.length === 0) {
      log.info('fault resolved before the heal started; nothing to do');
      return { kind: 'not-needed', reason: 'fault resolved before the heal was due' };
    }
    firstNode = await deps.nodeOps.get(job.node);
    if (!firstNode) {
      log.info('node no longer exists; nothing to heal');
      return { kind: 'not-needed', reason: 'node does not exist' };
    }
  }

  if (!(await takeLock(deps.redis, job.node, healId))) {
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
  const renew = setInterval(
    () => void takeLock(deps.redis, job.node, healId).catch(() => undefined),
    LOCK_TTL_MS / 4,
  );
  renew.unref();
  // Cancel requests are watched for the whole heal: a cancel aborts what acts (the drain stops
  // evicting) and what waits, within `cancelPollMs`.
  const control = watchHeal(deps.store, healId, signal, {
    pollMs: deps.cancelPollMs ?? CANCEL_POLL_MS,
    onError: (error) => log.warn({ err: error }, 'could not read the cancel request'),
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
      record = await advance(deps, record, { kind: 'start' });
    }

    for (;;) {
      // Shutting down: nothing more is recorded; the next worker resumes from the record.
      if (control.shuttingDown()) return { kind: 'interrupted', record };
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
    clearInterval(renew);
  }
}

/**
 * Creates the record of a new heal once the gates were asked for its first step: a gate that
 * may lift defers the job (no record); one that will not lift skips the heal (nothing written on
 * the node but one HealSkipped Event); otherwise the heal starts.
 */
async function startHeal(
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
    const gate = await checkAndHold(deps, healId, node, first.action);
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
  });
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
    await casUpdate(deps.redis, historyKey(job.key), parseHistory, (h) => ({
      next: markHealStarted(h, healId, deps.now()),
      result: undefined,
    }));
  }
  return record;
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
    case 'verify': {
      while (now() < command.until && !signal.aborted) {
        const observed = await observe(deps, record, job);
        if (observed) return await advance(deps, record, observed);
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
      const gate =
        recent?.result ?? (await checkAndHold(deps, record.id, node, command.step.action));
      if (!gate.allowed) return await refuse(deps, record, job, gate, command.stepIndex);
      // Cancel (and shutdown) are looked at before every mutating call.
      if (signal.aborted) return record;
      if (!deps.dryRun)
        await deps.nodeOps.annotateHeal(
          record.node,
          `${record.id} ${command.stepIndex}:${command.step.action}`,
        );
      const acted = await act(deps, record, node, command, signal);
      // Interrupted: by a shutdown, nothing is recorded (the record still says this step is
      // acting, and whoever resumes it acts again: steps are idempotent); by a cancel, the loop
      // ends the heal (what the step did so far, e.g. nodeheal's cordon, is noted already).
      if (signal.aborted) return acted.record;
      return await advance(deps, acted.record, acted.observation);
    }
  }
}

/** Tells the machine a gate refused step `step`; a gate that may lift holds it (and says so). */
async function refuse(
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

async function noteHeld(
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
async function waitForGate(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Extract<Command, { kind: 'wait-gate' }>,
  control: HealControl,
): Promise<HealRecord> {
  const step = command.stepIndex;
  const action = record.ladder[step]?.action;
  if (action === undefined) return await advance(deps, record, { kind: 'tick' });
  await sleepUntil(command.until, deps, control.signal, command.gate === 'paused');
  for (;;) {
    if (control.signal.aborted) return record;
    const node = await deps.nodeOps.get(record.node);
    if (!node) return await advance(deps, record, { kind: 'node-gone' });
    const resolved = await faultObservation(deps, node, record, job);
    if (resolved) return await advance(deps, record, resolved);
    const joined = await newlyJoined(deps, record);
    if (joined) return await advance(deps, record, { kind: 'fault-joined', fault: joined });
    const gate = await checkAndHold(deps, record.id, node, action);
    if (gate.allowed) {
      await deps.store.clearBlocked(record.id);
      rememberGate(record.id, { step, at: deps.now().getTime(), result: gate, node });
      return await advance(deps, record, { kind: 'gate-cleared', step });
    }
    if (!gate.defer || gate.gate !== command.gate) {
      return await refuse(deps, record, job, gate, step);
    }
    const until = Math.max(gate.retryAt ?? 0, deps.now().getTime() + deps.deferMs);
    await noteHeld(deps, record, job, gate, until);
    await sleepUntil(until, deps, control.signal, gate.gate === 'paused');
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

/** Looks for the fault resolving (alert resolved, or the condition healthy) or the node being gone. */
async function observe(
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
async function faultObservation(
  deps: RunnerDeps,
  node: V1Node,
  record: HealRecord,
  job: HealJob,
): Promise<Observation | undefined> {
  const fault = followedJoinedFault(record) ?? job;
  const history = parseHistoryRaw(await deps.redis.get(historyKey(fault.key)));
  const resolvedByAlert = history !== undefined && history.active.length === 0;
  const healthy = conditionHealthy(node, fault.labels);
  if (resolvedByAlert || healthy === true)
    return { kind: 'fault-resolved', at: deps.now().getTime() };
  return undefined;
}

/** Applies an observation, saves the record, and tells the world about each new transition. */
async function advance(
  deps: RunnerDeps,
  record: HealRecord,
  observation: Observation,
): Promise<HealRecord> {
  const rates = parseRates((await deps.redis.get(RATES_KEY)) ?? '') ?? {};
  const { record: next, changed } = nextStep(record, observation, deps.now(), ratesFrom(rates));
  if (!changed) return record;
  await deps.store.save(next);
  const results = stepResults(record, next);
  if (results.length > 0) {
    for (const r of results)
      deps.metrics.remedyAttempt(r.action, r.success ? 'success' : 'failure');
    await casUpdate(deps.redis, RATES_KEY, parseRates, (t) => ({
      next: recordStepResults(t ?? {}, results),
      result: undefined,
    }));
  }
  for (const t of next.transitions.slice(record.transitions.length)) announce(deps, next, t);
  return next;
}

async function finish(
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
  await casUpdate(deps.redis, historyKey(job.key), parseHistory, (h) => ({
    next: h ? markHealFinished(h) : undefined,
    result: undefined,
  }));
  await releaseNode(deps, record.node, record.id);
  const duration = ((record.endedAt ?? now.getTime()) - record.createdAt) / 1000;
  const tth =
    record.status === 'healed' && record.faultResolvedAt
      ? (record.faultResolvedAt - record.faultStartedAt) / 1000
      : undefined;
  deps.metrics.healFinished(record.fault, record.status, duration, tth);
}

/** Lets go of the node and wakes the jobs that joined this heal meanwhile. */
async function releaseNode(deps: RunnerDeps, node: string, healId: string): Promise<void> {
  const joined = await releaseLock(deps.redis, node, healId);
  // A job not woken looks again by itself (JOIN_RECHECK_MS): waking is not worth failing for.
  await wakeJoined(deps, joined).catch((error: unknown) =>
    deps.logger.warn({ err: error, healId }, 'could not wake the jobs that joined this heal'),
  );
}

function parseHistoryRaw(raw: string | null): FaultHistory | undefined {
  return raw === null ? undefined : parseHistory(raw);
}

/**
 * Sleeps until `until` or the signal aborts; with `whilePaused`, also wakes as soon as the pause
 * lifts (looked at every `cancelPollMs`), so that a held step goes on right after a resume.
 */
async function sleepUntil(
  until: number,
  deps: RunnerDeps,
  signal: AbortSignal,
  whilePaused = false,
): Promise<void> {
  if (!whilePaused) return await sleep(until - deps.now().getTime(), signal);
  for (;;) {
    const left = until - deps.now().getTime();
    if (left <= 0 || signal.aborted) return;
    await sleep(Math.min(left, deps.cancelPollMs ?? CANCEL_POLL_MS), signal);
    if (signal.aborted || (await deps.store.paused()) === undefined) return;
  }
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  await new Promise<void>((resolveSleep) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
