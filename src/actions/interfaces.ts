// Side effects of healing, behind narrow interfaces. Every implementation has a dry-run twin
// that records what it would do and mutates nothing. The heal runner depends only on these.
import type { V1Node } from '@kubernetes/client-node';

/** Constant Event reasons on the Node (DESIGN.md contract). */
export const EVENT_REASONS = [
  'HealStarted',
  'RemedyApplied',
  'RemedyFailed',
  'Escalated',
  'NodeDrained',
  'NodeReplaced',
  'HealSucceeded',
  'HealAbandoned',
  'HealSkipped',
  // `approval: outage`: a disruptive step of a Ready node waits for an operator (Warning), and
  // was approved.
  'HealAwaitingApproval',
  'HealApproved',
] as const;
export type EventReason = (typeof EVENT_REASONS)[number];

export const LABEL_EXCLUDE = 'nodeheal.io/exclude';
/**
 * Kubernetes' non-graceful node shutdown taint: pods of a node carrying it are force-deleted and
 * their volumes detached at once. nodeheal sets it only on a fenced node.
 */
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';
/** Marks an out-of-service taint nodeheal set (value: the heal id): only that one is removed. */
export const ANNOTATION_OUT_OF_SERVICE = 'nodeheal.io/out-of-service';
export const ANNOTATION_HEAL = 'nodeheal.io/heal';
export const ANNOTATION_CORDONED_BY = 'nodeheal.io/cordoned-by';
export const CORDONED_BY_VALUE = 'nodeheal';

export interface NodeOps {
  /** The Node as the API server has it now, or undefined when it does not exist (404 is state). */
  get(node: string): Promise<V1Node | undefined>;
  /** Marks unschedulable and `nodeheal.io/cordoned-by=nodeheal`; a node already cordoned by someone else stays theirs. */
  cordon(
    node: string,
  ): Promise<'cordoned' | 'already-cordoned-by-us' | 'cordoned-by-someone-else' | 'absent'>;
  /** Uncordons only a cordon nodeheal owns (annotation present). */
  uncordon(node: string): Promise<'uncordoned' | 'not-ours' | 'absent'>;
  /** Sets (or with null removes) the `nodeheal.io/heal` annotation: "<healId> <step>". */
  annotateHeal(node: string, value: string | null): Promise<void>;
  /**
   * Writes an Event on the node. With `key` (unique per heal and occasion, see `eventKey`) the
   * Event's name comes from it, so writing it again (a resumed heal) finds it there and adds
   * nothing: each occasion is told once, even across a worker's crash.
   */
  event(
    node: string,
    reason: EventReason,
    message: string,
    type?: 'Normal' | 'Warning',
    key?: string,
  ): Promise<void>;
  /**
   * Puts the out-of-service taint on the node (only ever after a fence): Kubernetes then
   * force-deletes its pods and detaches their volumes. Idempotent.
   */
  taintOutOfService(node: string, healId: string): Promise<'tainted' | 'absent'>;
  /** Removes an out-of-service taint nodeheal set (annotation present); leaves anyone else's. */
  removeOutOfService(node: string): Promise<'removed' | 'not-ours' | 'absent'>;
  /**
   * When the node was last heard from: the renewal of its kubelet's Lease (kube-node-lease),
   * else its Ready condition's last heartbeat; undefined when neither exists.
   */
  lastHeardAt(node: string): Promise<number | undefined>;
}

export interface DrainOptions {
  /** Give up after this long (DESIGN: 10 min). */
  timeoutMs: number;
  /** Evictions in flight at once. */
  parallelism: number;
  /** Pods with emptyDir volumes: evict (data is lost) or block the drain. */
  emptyDir: 'evict' | 'block';
  /** Pods without a controller (nothing recreates them): evict or block the drain. */
  unmanaged: 'evict' | 'block';
  /** After the timeout, delete remaining pods ignoring PDBs (only when an operator configured it). */
  force: boolean;
  /** On an unreachable node, stop waiting for pods whose deletion started this long ago (kubelet is gone). */
  skipWaitForDeleteAfterMs: number;
  signal?: AbortSignal;
}

export type DrainResult =
  | { outcome: 'drained'; evicted: number; skipped: number; durationMs: number }
  | { outcome: 'blocked'; reason: string; pods: string[] }
  | { outcome: 'timeout'; remaining: string[]; durationMs: number };

export interface Drainer {
  drain(node: string, options: DrainOptions): Promise<DrainResult>;
}

export type ReplaceResult =
  | { outcome: 'replaced'; replacement?: string; detail: string }
  | { outcome: 'unsupported'; detail: string }
  | { outcome: 'failed'; detail: string };

/**
 * A provider's fence: `fenced` once the machine is certainly down (terminated and reported
 * gone), `pending` while its termination is under way.
 */
export type FenceResult =
  | { outcome: 'fenced'; detail: string }
  | { outcome: 'pending'; detail: string }
  | { outcome: 'failed'; detail: string };

/** Node replacement for one kind of node pool. */
export interface Provider {
  /** Its name in the provider registry (src/providers/registry.ts), e.g. `cluster-api`. */
  readonly name: string;
  /** Whether this provider can bring a replacement up before the drain (surge). */
  readonly canSurge: boolean;
  /** Starts a replacement for `node` (idempotent: a second call for the same node does nothing new). */
  replace(node: V1Node): Promise<ReplaceResult>;
  /**
   * Surge (providers with `canSurge`): brings the replacement up and Ready without touching
   * `node`, so that workloads evicted by the drain land on it; `replace` then reuses it.
   */
  surge?(node: V1Node): Promise<ReplaceResult>;
  /**
   * Fencing (providers that own the machine): terminates it and reports when it is gone, so an
   * unreachable node's workloads may move. Idempotent; called until `fenced`. Providers that
   * only handle the Node object (plain) have none: their nodes need another fence.
   */
  fence?(node: V1Node): Promise<FenceResult>;
}

/** Host commands the node agent may run: names from its fixed catalog, never strings from alerts. */
export const HOST_COMMANDS = [
  'restart-kubelet',
  'restart-container-runtime',
  'clean-images',
  'rotate-logs',
  'sync-clock',
  'reboot',
] as const;
export type HostCommand = (typeof HOST_COMMANDS)[number];

export type HostCommandResult =
  | { outcome: 'ok'; exitCode: 0; output: string; durationMs: number }
  | { outcome: 'failed'; exitCode: number; output: string; durationMs: number }
  | { outcome: 'unreachable'; detail: string }
  | { outcome: 'unknown-command'; detail: string };

export interface HostCommands {
  run(node: string, command: HostCommand, healId: string): Promise<HostCommandResult>;
  /**
   * Whether the node's agent answers at all (a connection to its port): a self-fence is assumed
   * only for a node whose agent nodeheal cannot reach either.
   */
  reachable(node: string): Promise<boolean>;
}
