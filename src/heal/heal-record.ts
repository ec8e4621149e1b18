// The heal record: everything a worker needs to resume a heal, stored as JSON (Redis), so every
// time is epoch milliseconds, never a Date. `nextStep` is the only thing that changes it.
import { z } from 'zod';
import { healOriginSchema, type OriginAlert, healOrigin } from './heal-origin.ts';
import { REMEDY_ACTIONS } from '../rules/index.ts';
import type { LadderStep, RemedyAction } from '../rules/index.ts';
import { GATES } from '../safety/index.ts';
import { dedupeKey } from '../triage/index.ts';
import { fenceSchema } from './fence.ts';
import { healCostSchema, type HealCost } from './heal-cost.ts';

/** MachineHealthCheck's default nodeStartupTimeout: a replacement has 10 minutes to be Ready. */
export const DEFAULT_NODE_STARTUP_TIMEOUT_MS = 10 * 60_000;

/**
 * A fault whose alerts resolved while nodeheal's own cordon was on the node (and whose state the
 * API does not show) counts as fixed only if they stay resolved this long after nodeheal
 * uncordoned the node: about five of Alertmanager's recommended group intervals.
 */
export const DEFAULT_UNCORDON_SETTLE_MS = 5 * 60_000;

/** Bumped when the stored shape changes incompatibly; readers refuse versions they do not know. */
export const HEAL_RECORD_VERSION = 1;

/** Where the current step is: about to act (or waiting to retry), acting, or verifying. */
export const STEP_STATES = ['pending', 'acting', 'verifying'] as const;
export type StepState = (typeof STEP_STATES)[number];

/**
 * How a heal stands (DESIGN.md): `running`; `healed` (capacity back); `abandoned` (it acted and
 * could not finish: a human is told); `cancelled` (by an operator, or the node was deleted outside
 * the heal); `skipped` (a safety gate refused it before anything was done on the node: opt-out,
 * a control-plane node without an allowed step; no human is needed).
 */
export const HEAL_STATUSES = ['running', 'healed', 'abandoned', 'cancelled', 'skipped'] as const;
export type HealStatus = (typeof HEAL_STATUSES)[number];
export type FinalStatus = Exclude<HealStatus, 'running'>;

/** The state of the record before and after a transition: the step state while running, else the outcome. */
export type RecordState = StepState | FinalStatus;
const RECORD_STATES = [
  'pending',
  'acting',
  'verifying',
  'healed',
  'abandoned',
  'cancelled',
  'skipped',
] as const;

/**
 * What a transition was, low-cardinality (usable for Events and metrics):
 * - `started`: the first step of the heal begins acting (Event HealStarted).
 * - `acting`: a later step begins acting, or a step is retried.
 * - `step-done`: the step's side effect completed (a remedy is now verified; cordon/drain move on).
 * - `retry-scheduled`: the step failed transiently; it is retried after a backoff.
 * - `escalated`: the step failed or did not clear the fault in time; the next step follows.
 * - `skipped`: the step is skipped (success rate too low, or the daily cap allows only replace);
 *   with `to: 'skipped'`, the whole heal was skipped (a gate refused it before it acted).
 * - `held`: a safety gate that may lift (pause, storm, budgets...) holds the step before it acts;
 *   the step waits (`pending`, `gate` set) and acts once the gate lets it.
 * - `fault-resolved`, `fault-firing`: the fault resolved or fired again while a step is in flight.
 * - `awaiting-fence`: an unreachable node's workloads wait for a fence (the node certainly down).
 * - `fenced`: the node is fenced (how, by whom: `fence`); `out-of-service`: the out-of-service
 *   taint is on, so Kubernetes moves the pods and detaches their volumes.
 * - `fault-joined`: another fault of the node came due while this heal runs: it is recorded here
 *   (`joined`) instead of becoming a heal of its own.
 * - `ladder-changed`: the heal moved to a joined fault's more drastic ladder (Event Escalated).
 * - `confirming`: the fault's alerts resolved under nodeheal's own cordon; nodeheal uncordons the
 *   node and heals only if they stay resolved for `uncordonSettleMs`.
 * - `healed`, `abandoned`, `cancelled`, `skipped`: the heal ended.
 */
export const TRANSITION_KINDS = [
  'started',
  'acting',
  'step-done',
  'retry-scheduled',
  'escalated',
  'skipped',
  'held',
  'fault-resolved',
  'fault-firing',
  'awaiting-fence',
  'fenced',
  'out-of-service',
  'fault-joined',
  'ladder-changed',
  'confirming',
  'healed',
  'abandoned',
  'cancelled',
] as const;
export type TransitionKind = (typeof TRANSITION_KINDS)[number];

/** Notes (fault-resolved, fault-firing) stop being recorded past this many transitions. */
export const MAX_TRANSITIONS = 200;

export const ladderStepSchema = z.object({
  action: z.enum(REMEDY_ACTIONS),
  timeoutMs: z.int().positive(),
  skipBelowSuccessRate: z
    .object({ rate: z.number().min(0).max(1), overLast: z.int().min(1) })
    .optional(),
});

export const transitionSchema = z.object({
  at: z.number(),
  kind: z.enum(TRANSITION_KINDS),
  /** Index in `ladder` of the step the transition is about. */
  step: z.int().min(0),
  action: z.enum(REMEDY_ACTIONS),
  from: z.enum(RECORD_STATES),
  to: z.enum(RECORD_STATES),
  detail: z.string(),
  /** Set on transitions that end an attempt of the step: feeds the success-rate ring. */
  result: z.enum(['success', 'failure']).optional(),
});

export type Transition = z.infer<typeof transitionSchema>;

/** A fault of the same node that came due while a heal ran, and was recorded on that heal. */
export const joinedFaultSchema = z.object({
  fault: z.string().min(1),
  alertname: z.string(),
  /** Its triage dedupe key (where its alerts' history is). */
  key: z.string(),
  /** Its alert's labels (a node condition named there verifies it). */
  labels: z.record(z.string(), z.string()),
  /** Its alert's startsAt. */
  faultStartedAt: z.number(),
  joinedAt: z.number(),
  /** Its rule's ladder when it joined: the heal may move to it (see `joined-faults.ts`). */
  ladder: z.array(ladderStepSchema).min(1),
});

export type JoinedFault = z.infer<typeof joinedFaultSchema>;

export const healRecordSchema = z
  .object({
    version: z.literal(HEAL_RECORD_VERSION),
    id: z.string().min(1),
    /** `heal:<node>:<fault>`, the triage dedupe key. */
    key: z.string(),
    node: z.string().min(1),
    fault: z.string().min(1),
    pool: z.string(),
    /** The rule's ladder, copied when the heal was created: a catalog reload does not change it. */
    ladder: z.array(ladderStepSchema).min(1),
    /** Why `ladder` is in this order (`order: fastest`, decided at the start); null: as written. */
    ladderOrder: z.string().nullable().default(null),
    stepIndex: z.int().min(0),
    stepState: z.enum(STEP_STATES),
    /** When the current step first began acting (its creation time until then). */
    stepStartedAt: z.number(),
    /**
     * When the current state ends: pending → act at (retry backoff), acting → the act must
     * report by then, verifying → escalate at. Null once the heal has ended.
     */
    deadline: z.number().nullable(),
    /** Transient failures of the current step so far (retries scheduled). */
    retries: z.int().min(0),
    status: z.enum(HEAL_STATUSES),
    /** Why the heal ended; null while running. */
    outcomeReason: z.string().nullable(),
    dryRun: z.boolean(),
    /** nodeheal cordoned the node in this heal: only then may it uncordon it. */
    cordonedByUs: z.boolean(),
    /** The Node object was seen gone (replaced, or deleted by someone else). */
    nodeGone: z.boolean(),
    createdAt: z.number(),
    updatedAt: z.number(),
    /** The alert's startsAt: time to heal is measured from here. */
    faultStartedAt: z.number(),
    /** When the fault was seen resolved (cleared again if it fires again while the heal runs). */
    faultResolvedAt: z.number().nullable(),
    endedAt: z.number().nullable(),
    /** The node label that names the pool (how to find the pool once the node is gone). */
    poolLabel: z.string().nullable().default(null),
    /** Ready nodes of the pool when the heal started: a replacement is done when it is back. */
    poolReadyBefore: z.int().min(0).nullable().default(null),
    /** How long a replacement may take to be Ready (MachineHealthCheck's nodeStartupTimeout). */
    nodeStartupTimeoutMs: z.int().positive().default(DEFAULT_NODE_STARTUP_TIMEOUT_MS),
    /** The replacement node, when the provider named it. */
    replacement: z.string().nullable().default(null),
    /** When capacity was seen back (replacement Ready, or the pool at its earlier Ready count). */
    capacityBackAt: z.number().nullable().default(null),
    /** How the node was fenced before its workloads were given away; null until then. */
    fence: fenceSchema.nullable().default(null),
    /** When nodeheal put the out-of-service taint on the (fenced) node; null if it did not. */
    outOfServiceAt: z.number().nullable().default(null),
    /**
     * The safety gate that holds the current step (running, `pending`), or that ended the heal
     * (`skipped`, or `abandoned` by a gate); null otherwise.
     */
    gate: z.enum(GATES).nullable().default(null),
    /** Other faults of the node that came due while this heal ran, oldest first. */
    joined: z.array(joinedFaultSchema).default([]),
    /**
     * The joined fault whose more drastic ladder the heal moved to, and the index in `ladder`
     * where its steps begin (the steps before are the heal's own); null while it has its own.
     */
    ladderFault: z.string().nullable().default(null),
    ladderFrom: z.int().min(0).nullable().default(null),
    /** A joined fault whose more drastic ladder the heal moves to when the current step is over. */
    switchTo: z.string().nullable().default(null),
    /** How long alerts that resolved under nodeheal's cordon must stay resolved once uncordoned. */
    uncordonSettleMs: z.int().positive().default(DEFAULT_UNCORDON_SETTLE_MS),
    /** Since when nodeheal confirms such a resolution (the node uncordoned); null otherwise. */
    confirmingSince: z.number().nullable().default(null),
    /** The fault came back after that uncordon: cordon again before the next step acts. */
    recordon: z.boolean().default(false),
    /** Who lifted nodeheal's own cordon and so ended the heal (an operator's decision). */
    uncordonedBy: z.string().nullable().default(null),
    /** The alert that opened the heal; null in records written before it was kept. */
    origin: healOriginSchema.nullable().default(null),
    /** What the disruptive steps will cost the node's workloads (heal-cost.ts); null: not worked out. */
    cost: healCostSchema.nullable().default(null),
    transitions: z.array(transitionSchema),
  })
  .refine((record) => record.stepIndex < record.ladder.length, {
    message: 'stepIndex must point into the ladder',
    path: ['stepIndex'],
  });

/** One heal of one (node, fault); JSON-serialisable. Parse stored values with `healRecordSchema`. */
export type HealRecord = z.infer<typeof healRecordSchema>;

export class InvalidHealError extends Error {
  readonly code = 'INVALID_HEAL';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidHealError';
  }
}

export interface NewHealRecordParams {
  id: string;
  node: string;
  fault: string;
  pool: string;
  /** The rule's ladder (copied). */
  ladder: readonly LadderStep[];
  /** The alert's startsAt. */
  faultStartedAt: Date | number;
  dryRun?: boolean;
  now: Date;
  /** Ready nodes of the pool now (before the heal); undefined when the pool is unknown. */
  poolReadyBefore?: number;
  poolLabel?: string;
  nodeStartupTimeoutMs?: number;
  uncordonSettleMs?: number;
  /** The alert that opened the heal (its job): kept as the record's `origin`. */
  alert?: OriginAlert;
  /** What the heal's disruptive steps will cost (worked out before it starts). */
  cost?: HealCost;
}

/**
 * A heal that has not started: step 0, `pending`, due now. Send it `{ kind: 'start' }`.
 *
 * - Throws `InvalidHealError` for an empty ladder, a step with a non-positive timeout or an
 *   invalid start time: these are programming errors (the catalog loader rejects them).
 */
export function newHealRecord(params: NewHealRecordParams): HealRecord {
  const nowMs = params.now.getTime();
  const faultStartedAt =
    typeof params.faultStartedAt === 'number'
      ? params.faultStartedAt
      : params.faultStartedAt.getTime();
  if (params.ladder.length === 0) throw new InvalidHealError('the ladder has no steps');
  if (!Number.isFinite(nowMs) || !Number.isFinite(faultStartedAt)) {
    throw new InvalidHealError('invalid time for a new heal');
  }
  const ladder = params.ladder.map((step) => {
    if (!Number.isSafeInteger(step.timeoutMs) || step.timeoutMs <= 0) {
      throw new InvalidHealError(`step ${step.action} has an invalid timeout ${step.timeoutMs}`);
    }
    return {
      action: step.action,
      timeoutMs: step.timeoutMs,
      ...(step.skipBelowSuccessRate === undefined
        ? {}
        : {
            skipBelowSuccessRate: {
              rate: step.skipBelowSuccessRate.rate,
              overLast: step.skipBelowSuccessRate.overLast,
            },
          }),
    };
  });
  return {
    version: HEAL_RECORD_VERSION,
    id: params.id,
    key: dedupeKey(params.node, params.fault),
    node: params.node,
    fault: params.fault,
    pool: params.pool,
    ladder,
    ladderOrder: null,
    stepIndex: 0,
    stepState: 'pending',
    stepStartedAt: nowMs,
    deadline: nowMs,
    retries: 0,
    status: 'running',
    outcomeReason: null,
    dryRun: params.dryRun ?? false,
    cordonedByUs: false,
    nodeGone: false,
    createdAt: nowMs,
    updatedAt: nowMs,
    faultStartedAt,
    faultResolvedAt: null,
    endedAt: null,
    poolLabel: params.poolLabel ?? null,
    poolReadyBefore: params.poolReadyBefore ?? null,
    nodeStartupTimeoutMs: params.nodeStartupTimeoutMs ?? DEFAULT_NODE_STARTUP_TIMEOUT_MS,
    replacement: null,
    capacityBackAt: null,
    fence: null,
    outOfServiceAt: null,
    gate: null,
    joined: [],
    ladderFault: null,
    ladderFrom: null,
    switchTo: null,
    uncordonSettleMs: params.uncordonSettleMs ?? DEFAULT_UNCORDON_SETTLE_MS,
    confirmingSince: null,
    recordon: false,
    uncordonedBy: null,
    origin: params.alert === undefined ? null : healOrigin(params.alert),
    cost: params.cost ?? null,
    transitions: [],
  };
}

/** Cordon and drain prepare the node for the next step; they do not fix the fault themselves. */
export function isPreparation(action: RemedyAction): boolean {
  return action === 'cordon' || action === 'drain';
}

/** Host-level fixes: restart-kubelet, restart-container-runtime, clean-disk, sync-clock, reboot. */
export function isExpertRemedy(action: RemedyAction): boolean {
  return !isPreparation(action) && action !== 'replace';
}

export function isFinished(record: HealRecord): boolean {
  return record.status !== 'running';
}

/** The state shown in transitions: the step state while running, else the outcome. */
export function recordState(record: HealRecord): RecordState {
  return record.status === 'running' ? record.stepState : record.status;
}

/** The step the record is on. */
export function currentStep(record: HealRecord): LadderStep {
  const step = record.ladder[record.stepIndex];
  if (step === undefined)
    throw new InvalidHealError(`step ${record.stepIndex} is not in the ladder`);
  return step;
}

/** Fault start to resolution, for `nodeheal_time_to_heal_seconds`; undefined unless healed. */
export function timeToHealMs(record: HealRecord): number | undefined {
  if (record.status !== 'healed') return undefined;
  const healedAt = record.faultResolvedAt ?? record.endedAt;
  return healedAt === null ? undefined : Math.max(0, healedAt - record.faultStartedAt);
}

/** Creation to end, for `nodeheal_heal_duration_seconds`; undefined while running. */
export function healDurationMs(record: HealRecord): number | undefined {
  return record.endedAt === null ? undefined : Math.max(0, record.endedAt - record.createdAt);
}
