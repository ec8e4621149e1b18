// The heal runner: drives the pure ladder machine (`nextStep`) with real side effects. Every
// step re-reads the world first, every transition is saved before the next side effect, and a
// runner that dies is replaced by one that resumes from the saved record (steps are idempotent).
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type {
  DrainOptions,
  Drainer,
  EventReason,
  HostCommand,
  HostCommands,
  NodeOps,
  Provider,
} from '../actions/interfaces.ts';
import type { Logger } from '../log/index.ts';
import { casUpdate, jsonParser } from '../queue/cas.ts';
import type { HealJob } from '../queue/heal-job.ts';
import type { Catalog, RemedyAction } from '../rules/index.ts';
import { matchFault } from '../rules/index.ts';
import {
  acquireSlot,
  budgetStateSchema,
  checkGates,
  EMPTY_BUDGET_STATE,
  pruneHistory,
  releaseSlot,
  updateStormState,
  isStormActive,
  type BudgetState,
  type GateResult,
  type PoolHealth,
  type SafetyConfig,
} from '../safety/index.ts';
import {
  faultHistorySchema,
  markHealFinished,
  markHealStarted,
  type FaultHistory,
} from '../triage/index.ts';
import { newHealRecord, type HealRecord, type Transition } from './heal-record.ts';
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
import { replaceStep } from './replace-step.ts';
import { conditionHealthy, isUnhealthy, poolOf } from './world.ts';

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
}

export type RunOutcome =
  | { kind: 'finished'; record: HealRecord }
  | { kind: 'deferred'; until: number; gate: string; detail: string }
  | { kind: 'not-needed'; reason: string }
  | { kind: 'interrupted'; record?: HealRecord };

const BUDGET_KEY = 'nodeheal:budget';
/** The gate answer for a heal's first step, taken just before the heal started (in memory only). */
const gateCheckedFor = new Map<
  string,
  { step: number; at: number; result: GateResult; node: V1Node }
>();
/** Events being written, per heal: they never hold a step back, and are awaited when it ends. */
const pendingEvents = new Map<string, Promise<void>[]>();
const RATES_KEY = SUCCESS_RATES_KEY;
const historyKey = (key: string) => `nodeheal:history:${key}`;
const lockKey = (node: string) => `nodeheal:lock:node:${node}`;
const LOCK_TTL_MS = 120_000;

const parseBudget = jsonParser<BudgetState>(budgetStateSchema);
const parseHistory = jsonParser<FaultHistory>(faultHistorySchema);
const parseRates = jsonParser<SuccessTable>(successTableSchema);

const hostCommandFor: Partial<Record<RemedyAction, HostCommand[]>> = {
  'restart-kubelet': ['restart-kubelet'],
  'restart-container-runtime': ['restart-container-runtime'],
  'clean-disk': ['clean-images', 'rotate-logs'],
  'sync-clock': ['sync-clock'],
  reboot: ['reboot'],
};

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
    log.info('another heal holds this node; trying again later');
    return {
      kind: 'deferred',
      until: deps.now().getTime() + deps.deferMs,
      gate: 'node-lock',
      detail: 'another heal runs on this node',
    };
  }
  const renew = setInterval(
    () => void takeLock(deps.redis, job.node, healId).catch(() => undefined),
    LOCK_TTL_MS / 4,
  );
  renew.unref();
  try {
    if (!record) {
      const fault =
        deps.catalog().faults.find((f) => f.name === job.fault) ??
        matchFault(deps.catalog(), { alertname: job.alertname, labels: job.labels });
      // Read a moment ago, just above; a resumed heal re-reads at its next step anyway.
      const node = firstNode ?? (await deps.nodeOps.get(job.node));
      const first = fault.ladder[0];
      if (node && first) {
        // Ask the gates before anything is created: a heal that must wait (storm, budget, pause,
        // cooldown) is delayed, not started and abandoned.
        // Holding the slot from here keeps two heals from both passing this check at once.
        const gate = await checkAndHold(deps, healId, node, first.action, true);
        gateCheckedFor.set(healId, { step: 0, at: deps.now().getTime(), result: gate, node });
        if (!gate.allowed) {
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
            log.info({ gate: gate.gate }, `heal deferred: ${gate.detail}`);
            return {
              kind: 'deferred',
              until: Math.max(gate.retryAt ?? 0, deps.now().getTime() + deps.deferMs),
              gate: gate.gate,
              detail: gate.detail,
            };
          }
        }
      }
      await deps.store.clearBlocked(healId);
      const { pool } = poolOf(node, deps.poolLabels);
      record = newHealRecord({
        id: healId,
        node: job.node,
        fault: fault.name,
        pool,
        ladder: fault.ladder,
        faultStartedAt: new Date(job.startsAt),
        dryRun: deps.dryRun,
        now: deps.now(),
      });
      record = await advance(deps, record, { kind: 'start' });
      deps.metrics.healStarted(record.fault);
      await casUpdate(deps.redis, historyKey(job.key), parseHistory, (h) => ({
        next: markHealStarted(h, healId, deps.now()),
        result: undefined,
      }));
    } else {
      log.info(
        { step: record.stepIndex, state: record.stepState },
        'resuming heal from its record',
      );
      record = await advance(deps, record, { kind: 'start' });
    }

    for (;;) {
      if (signal.aborted) return { kind: 'interrupted', record };
      const command = currentCommand(record);
      const cancelledBy = await deps.store.cancelRequested(record.id);
      if (cancelledBy && command.kind !== 'finish') {
        record = await advance(deps, record, {
          kind: 'cancel',
          by: cancelledBy,
          detail: `cancelled by ${cancelledBy}`,
        });
        continue;
      }
      if (command.kind === 'finish') {
        await finish(deps, record, job, command);
        return { kind: 'finished', record };
      }
      record = await execute(deps, record, job, command, signal);
    }
  } finally {
    clearInterval(renew);
  }
}

async function execute(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Exclude<Command, { kind: 'finish' }>,
  signal: AbortSignal,
): Promise<HealRecord> {
  const now = () => deps.now().getTime();
  switch (command.kind) {
    case 'skip-step':
    case 'wait-retry': {
      if (command.kind === 'wait-retry') await sleepUntil(command.until, deps, signal);
      return await advance(deps, record, { kind: 'tick' });
    }
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
      // The gates (and the node) were read for this very step a moment ago, just before the heal
      // started: reading again would only add latency between the job being due and its action.
      const fresh = gateCheckedFor.get(record.id);
      gateCheckedFor.delete(record.id);
      const recent =
        fresh && fresh.step === command.stepIndex && now() - fresh.at < 2000 ? fresh : undefined;
      const node = recent?.node ?? (await deps.nodeOps.get(record.node));
      if (!node) return await advance(deps, record, { kind: 'node-gone' });
      const gate = recent
        ? recent.result
        : await checkAndHold(deps, record.id, node, command.step.action, true);
      if (!gate.allowed) {
        deps.metrics.safetyBlocked(gate.gate);
        return await advance(deps, record, {
          kind: 'safety-blocked',
          gate: gate.gate,
          detail: gate.detail,
          step: command.stepIndex,
        });
      }
      if (!deps.dryRun)
        await deps.nodeOps.annotateHeal(
          record.node,
          `${record.id} ${command.stepIndex}:${command.step.action}`,
        );
      const acted = await act(deps, record, node, command, signal);
      // Interrupted by a shutdown: nothing is recorded, the record still says this step is
      // acting, and whoever resumes it acts again (steps are idempotent).
      if (signal.aborted) return acted.record;
      return await advance(deps, acted.record, acted.observation);
    }
  }
}

/**
 * Performs one step's side effect and reports it as an observation for the machine, with the
 * record as saved meanwhile (the replace step notes its fence on it before it ends).
 */
async function act(
  deps: RunnerDeps,
  record: HealRecord,
  node: V1Node,
  command: Extract<Command, { kind: 'act' }>,
  signal: AbortSignal,
): Promise<{ observation: Observation; record: HealRecord }> {
  let latest = record;
  const observation = await actOnce(deps, record, node, command, signal, (r) => (latest = r));
  return { observation, record: latest };
}

async function actOnce(
  deps: RunnerDeps,
  record: HealRecord,
  node: V1Node,
  command: Extract<Command, { kind: 'act' }>,
  signal: AbortSignal,
  saved: (record: HealRecord) => void,
): Promise<Observation> {
  const step = command.stepIndex;
  const action = command.step.action;
  let latest = record;
  try {
    if (action === 'cordon') {
      const result = await deps.nodeOps.cordon(record.node);
      if (result === 'absent') return { kind: 'node-gone' };
      return {
        kind: 'step-done',
        step,
        detail: `cordon: ${result}`,
        cordonedByUs: result === 'cordoned' || result === 'already-cordoned-by-us',
      };
    }
    if (action === 'drain') {
      const cordon = await deps.nodeOps.cordon(record.node);
      if (cordon === 'absent') return { kind: 'node-gone' };
      const failed = await drainNode(deps, record, command.deadline - deps.now().getTime(), signal);
      if (failed) return { kind: 'step-failed', step, detail: failed, permanent: true };
      const cordonedByUs = cordon === 'cordoned' || cordon === 'already-cordoned-by-us';
      return { kind: 'step-done', step, detail: 'drained', cordonedByUs };
    }
    if (action === 'replace') {
      return await replaceStep(deps, record, node, command, signal, {
        note: async (observation) => {
          latest = await advance(deps, latest, observation);
          saved(latest);
          return latest;
        },
        event: (reason, message, type) => event(deps, record.node, reason, message, type),
        drainNode: (timeoutMs, overrides) => drainNode(deps, record, timeoutMs, signal, overrides),
      });
    }
    const commands = hostCommandFor[action];
    if (!commands)
      return {
        kind: 'step-failed',
        step,
        detail: `no host command for ${action}`,
        permanent: true,
      };
    for (const hostCommand of commands) {
      const result = await deps.host.run(record.node, hostCommand, record.id);
      if (result.outcome !== 'ok') {
        const detail =
          result.outcome === 'failed'
            ? `${hostCommand} exited ${result.exitCode}: ${result.output.slice(-200)}`
            : `${hostCommand}: ${result.detail}`;
        await event(deps, record.node, 'RemedyFailed', `heal ${record.id}: ${detail}`, 'Warning');
        // An agent that cannot be reached cannot apply this remedy: escalate rather than wait.
        return { kind: 'step-failed', step, detail, permanent: true };
      }
    }
    await event(
      deps,
      record.node,
      'RemedyApplied',
      `heal ${record.id}: ${action} done; verifying for ${Math.round(command.step.timeoutMs / 1000)} s`,
    );
    return { kind: 'step-done', step, detail: `${action} done` };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: string }).code;
    const permanent = code === 'PERMANENT' || code === 'KUBE_PERMANENT';
    return { kind: 'step-failed', step, detail, permanent };
  }
}

/**
 * Drains the (already cordoned) node within `timeoutMs`; says why when it could not, and
 * announces the drain with a NodeDrained event when it could.
 */
async function drainNode(
  deps: RunnerDeps,
  record: HealRecord,
  timeoutMs: number,
  signal: AbortSignal,
  overrides: Partial<DrainOptions> = {},
): Promise<string | undefined> {
  const result = await deps.drainer.drain(record.node, {
    ...deps.drain,
    ...overrides,
    timeoutMs: Math.max(1000, timeoutMs),
    signal,
  });
  if (result.outcome === 'blocked') return `drain blocked: ${result.reason}`;
  if (result.outcome === 'timeout') {
    return `drain timed out with ${result.remaining.length} pod(s) left: ${result.remaining.slice(0, 5).join(', ')}`;
  }
  await event(
    deps,
    record.node,
    'NodeDrained',
    `heal ${record.id}: ${result.evicted} pod(s) evicted, ${result.skipped} skipped, in ${Math.round(result.durationMs / 1000)} s`,
  );
  return undefined;
}

/** Looks for the fault resolving (alert resolved, or the condition healthy) or the node being gone. */
async function observe(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
): Promise<Observation | undefined> {
  const node = await deps.nodeOps.get(record.node);
  if (!node) return { kind: 'node-gone' };
  const history = parseHistoryRaw(await deps.redis.get(historyKey(job.key)));
  const resolvedByAlert = history !== undefined && history.active.length === 0;
  const healthy = conditionHealthy(node, job.labels);
  if (resolvedByAlert || healthy === true)
    return { kind: 'fault-resolved', at: deps.now().getTime() };
  return undefined;
}

/** Checks the safety gates for `action` on `node` and, when allowed, takes a budget slot (atomic in Redis). */
async function checkAndHold(
  deps: RunnerDeps,
  healId: string,
  node: V1Node,
  action: RemedyAction,
  hold: boolean,
): Promise<GateResult> {
  const name = node.metadata?.name ?? '';
  const labels = node.metadata?.labels ?? {};
  const { label, pool } = poolOf(node, deps.poolLabels);
  const members = await deps.listNodes(label ? `${label}=${pool}` : undefined);
  const health: PoolHealth = {
    total: members.length,
    unhealthy: members.filter(isUnhealthy).length,
  };
  const paused = (await deps.store.paused()) !== undefined;
  const now = deps.now();
  const result = await casUpdate(deps.redis, BUDGET_KEY, parseBudget, (current) => {
    let state = pruneHistory(current ?? EMPTY_BUDGET_STATE, now);
    state = {
      ...state,
      pools: { ...state.pools, [pool]: health },
      storms: {
        ...state.storms,
        [pool]: updateStormState(state.storms[pool], health, now, deps.safety),
      },
    };
    const gate = checkGates(
      {
        healId,
        node: name,
        labels,
        pool,
        action,
        paused,
        dryRun: deps.dryRun,
        budget: state,
        config: deps.safety,
      },
      now,
    );
    // Dry-run heals take no real budget: they must not hold back real ones.
    if (gate.allowed && hold && !gate.holdsSlot && !deps.dryRun) {
      state = acquireSlot(
        state,
        {
          healId,
          node: name,
          pool,
          controlPlane: labels['node-role.kubernetes.io/control-plane'] !== undefined,
        },
        now,
      );
    }
    return {
      next: state,
      result: { gate, storm: Object.values(state.storms).some(isStormActive) },
    };
  });
  deps.metrics.stormActive(result.storm);
  return result.gate;
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

function announce(deps: RunnerDeps, record: HealRecord, t: Transition): void {
  deps.logger.info(
    {
      healId: record.id,
      node: record.node,
      fault: record.fault,
      step: t.step,
      action: t.action,
      from: t.from,
      to: t.to,
      kind: t.kind,
    },
    t.detail,
  );
  const reasons: Partial<Record<Transition['kind'], [EventReason, 'Normal' | 'Warning']>> = {
    started: ['HealStarted', 'Normal'],
    escalated: ['Escalated', 'Warning'],
    'retry-scheduled': ['RemedyFailed', 'Warning'],
    healed: ['HealSucceeded', 'Normal'],
    abandoned: ['HealAbandoned', 'Warning'],
    cancelled: ['HealAbandoned', 'Normal'],
  };
  const reason = reasons[t.kind];
  if (reason) {
    const pending = event(
      deps,
      record.node,
      reason[0],
      `heal ${record.id} (${record.fault}): ${t.detail}`,
      reason[1],
    );
    pendingEvents.set(record.id, [...(pendingEvents.get(record.id) ?? []), pending]);
  }
}

async function finish(
  deps: RunnerDeps,
  record: HealRecord,
  job: HealJob,
  command: Extract<Command, { kind: 'finish' }>,
): Promise<void> {
  await Promise.all(pendingEvents.get(record.id) ?? []);
  pendingEvents.delete(record.id);
  gateCheckedFor.delete(record.id);
  const now = deps.now();
  if (command.uncordon && !deps.dryRun) await deps.nodeOps.uncordon(record.node);
  // A Node that carries the fenced node's name now (it rebooted and rejoined, or a new machine
  // took the name) must not keep the out-of-service taint: only a taint nodeheal set goes.
  if (record.outOfServiceAt !== null && !deps.dryRun)
    await deps.nodeOps.removeOutOfService(record.node);
  if (!deps.dryRun && (await deps.nodeOps.get(record.node)))
    await deps.nodeOps.annotateHeal(record.node, null);
  if (!deps.dryRun) {
    await casUpdate(deps.redis, BUDGET_KEY, parseBudget, (s) => ({
      next: releaseSlot(s ?? EMPTY_BUDGET_STATE, record.id, now),
      result: undefined,
    }));
  }
  await casUpdate(deps.redis, historyKey(job.key), parseHistory, (h) => ({
    next: h ? markHealFinished(h) : undefined,
    result: undefined,
  }));
  await releaseLock(deps.redis, record.node, record.id);
  const duration = ((record.endedAt ?? now.getTime()) - record.createdAt) / 1000;
  const tth =
    record.status === 'healed' && record.faultResolvedAt
      ? (record.faultResolvedAt - record.faultStartedAt) / 1000
      : undefined;
  deps.metrics.healFinished(record.fault, record.status, duration, tth);
}

async function event(
  deps: RunnerDeps,
  node: string,
  reason: EventReason,
  message: string,
  type: 'Normal' | 'Warning' = 'Normal',
): Promise<void> {
  try {
    await deps.nodeOps.event(node, reason, message, type);
  } catch (error) {
    // Events are for people; a failed event never fails a heal.
    deps.logger.warn({ err: error, node, reason }, 'could not record event');
  }
}

function parseHistoryRaw(raw: string | null): FaultHistory | undefined {
  return raw === null ? undefined : parseHistory(raw);
}

async function takeLock(redis: Redis, node: string, healId: string): Promise<boolean> {
  const set = await redis.set(lockKey(node), healId, 'PX', LOCK_TTL_MS, 'NX');
  if (set === 'OK') return true;
  // Our own lock (a resumed heal, or a renewal): extend it.
  const extended = await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
    1,
    lockKey(node),
    healId,
    String(LOCK_TTL_MS),
  );
  return extended === 1;
}

async function releaseLock(redis: Redis, node: string, healId: string): Promise<void> {
  await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
    1,
    lockKey(node),
    healId,
  );
}

async function sleepUntil(until: number, deps: RunnerDeps, signal: AbortSignal): Promise<void> {
  const ms = until - deps.now().getTime();
  if (ms <= 0 || signal.aborted) return;
  await new Promise<void>((resolveSleep) => {
    const timer = setTimeout(resolveSleep, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolveSleep();
      },
      { once: true },
    );
  });
}
