// What the heal runner's stages need: the adapters (Redis, store, Kubernetes, providers, host
// commands), the configuration, and how a run ended.
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type {
  CostReader,
  DrainOptions,
  Drainer,
  HostCommands,
  NodeOps,
  Provider,
} from '../actions/index.ts';
import type { ApprovalRule, ConfirmationResult, HealRecord, Observation } from '../heal/index.ts';
import type { Logger } from '../log/index.ts';
import type { Catalog } from '../rules/index.ts';
import type { MaintenanceWindow, SafetyConfig } from '../safety/index.ts';
import type { HealStore } from '../store/index.ts';
import type { ExternalGate, ExternalGateContext } from './external-gates.ts';

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
  /** A heal was abandoned because its replace step's capacity was not back in time. */
  replacementNotReady?(pool: string): void;
  /**
   * The step a running heal is on (node, fault, ladder index, action, state, holding gate, since
   * when), or null once it ended: one gauge series per running heal (the dashboard's table).
   */
  healStep?(
    healId: string,
    step: {
      node: string;
      fault: string;
      step: number;
      action: string;
      state: string;
      gate: string;
      startedAt: number;
    } | null,
  ): void;
  /** Pods a drain evicted, per kind of the heal's cost (`evictedByKind`). */
  podsEvicted?(counts: Readonly<Record<string, number>>): void;
  /** What the check before a heal's first action found (`nodeheal_fault_confirmations_total`). */
  faultConfirmation?(result: ConfirmationResult): void;
  /** Seconds an ended heal spent in each stage (`healPhases`, as its status page shows them). */
  healStages?(seconds: Readonly<Record<HealStage, number>>): void;
  /** A running heal handed back because it may have lost its node lock (lease-watchdog.ts). */
  leaseLost?(reason: 'held-by-other' | 'not-renewed'): void;
}

/** What the check needs beyond the runner's usual deps (NODEHEAL_CONFIRM_*). */
export interface ConfirmDeps {
  /** Fingerprints Alertmanager holds unresolved among alerts so named; throws when unanswered. */
  alertActivity?: (alertnames: readonly string[]) => Promise<ReadonlySet<string>>;
  recheckMs: number;
  maxWaitMs: number;
}

export type HealStage = 'detection' | 'debounce' | 'queued' | 'gates' | 'acting' | 'verification';

export interface RunnerDeps {
  redis: Redis;
  store: HealStore;
  nodeOps: NodeOps;
  drainer: Drainer;
  /** What disrupting a node costs its workloads (pods, owners, PDBs); none: not worked out. */
  costReader?: CostReader;
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
  /** NODEHEAL_APPROVAL: pools whose disruptive steps ask before an outage (`approval: outage`). */
  approvalRules?: readonly ApprovalRule[];
  /** How long a replacement may take to be Ready before the heal is abandoned. */
  nodeStartupTimeoutMs: number;
  /** How long alerts resolved under nodeheal's own cordon must stay resolved once uncordoned. */
  uncordonSettleMs: number;
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
  /** Asked before the budget: the operator's blockers and silences, pre-step hooks. */
  externalGates?: readonly ExternalGate[];
  /** Told how a step that acted ended (post-step hooks): returns at once, never fails the heal. */
  afterStep?: (
    context: ExternalGateContext,
    observation: Observation,
    interrupted: boolean,
  ) => void;
  /**
   * The node lock's lifetime (NODEHEAL_NODE_LOCK_TTL_MS; LOCK_TTL_MS when unset): a heal that
   * stops running lets go of its node within it, and of its budget slot within
   * GHOST_SLOT_LOCK_LIFETIMES of it.
   */
  nodeLockTtlMs?: number;
  /**
   * BullMQ's job lock (NODEHEAL_WORKER_LOCK_MS): a heal cut from Redis stops acting before its job
   * could be taken by another worker as stalled (lease-watchdog.ts).
   */
  jobLockMs?: number;
  /**
   * Before a heal's first action, confirm its fault is still there (NODEHEAL_CONFIRM_*); absent:
   * not confirmed (tests of other stages, NODEHEAL_CONFIRM_MAX_WAIT_MS=0).
   */
  confirm?: ConfirmDeps;
  /** Wakes delayed jobs at once (those that joined a heal that has ended). */
  wakeJobs: (jobIds: string[]) => Promise<void>;
}

export type RunOutcome =
  | { kind: 'finished'; record: HealRecord }
  | { kind: 'deferred'; until: number; gate: string; detail: string }
  | { kind: 'not-needed'; reason: string }
  /** Another heal runs on the node: the job's fault is recorded on it; look again at `until`. */
  | { kind: 'joined'; healId: string; until: number }
  /** Handed back: the worker shuts down, or the heal may have lost its node lock (`reason`). */
  | { kind: 'interrupted'; record?: HealRecord; reason?: string };
