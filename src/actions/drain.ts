// Drainer over the Eviction API: what `kubectl drain` does, built for a healer (PDBs respected,
// bounded, abortable, uid-aware), and faster on the waiting side.
//
// - Pods are listed with the field selector `spec.nodeName=<node>`, never cluster-wide.
// - Skipped: mirror (static) pods, DaemonSet pods, pods that already terminated (Succeeded or
//   Failed). Pods already being deleted are not evicted again but are waited for.
// - Policies: pods with emptyDir volumes and pods without a controller either are evicted or block
//   the whole drain before anything is evicted (`blocked`, listing them).
// - Evictions run in parallel, at most `parallelism` in flight. Each eviction carries the pod's uid
//   as a precondition, so a pod recreated with the same name is never evicted by mistake.
// - 429 (a PDB forbids it now, or API throttling) and transient errors are retried with
//   exponential backoff and jitter until the timeout; a permanent error (403, 422...) rejects.
// - The wait polls the pods on the node (field selector) and tracks pods by uid: a pod with the same
//   name and another uid is a different pod, and the one we evicted is gone.
// - On an unreachable node (Ready Unknown or the `node.kubernetes.io/unreachable` taint, or the
//   Node deleted) the kubelet will never confirm deletions: pods whose deletionTimestamp is older
//   than `skipWaitForDeleteAfterMs` are no longer waited for.
// - At the timeout: `timeout` with the pods still there, or with `force`, those pods are deleted
//   with grace period 0, ignoring PDBs, and the drain completes once they are gone.
// - The AbortSignal stops everything promptly; `drain` then rejects with the signal's reason.
// - The node is expected to be cordoned already (NodeOps.cordon); as with kubectl, pods that
//   arrive after the first list are not evicted.
import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import {
  ConflictError,
  kubeCall,
  kubeGet,
  NotFoundError,
  toKubeError,
  TooManyRequestsError,
  TransientError,
} from '../kube/errors.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import type { DrainOptions, DrainResult, Drainer } from './interfaces.ts';

/** nodeheal's drain defaults (DESIGN.md: Eviction API, 10 min, force only by config). */
export const DEFAULT_DRAIN_OPTIONS: Readonly<Omit<DrainOptions, 'signal'>> = Object.freeze({
  timeoutMs: 10 * 60_000,
  parallelism: 16,
  // The node is drained to be repaired or replaced: its scratch space is lost either way.
  emptyDir: 'evict',
  // Nothing would recreate a bare pod: a human decides (force only by config).
  unmanaged: 'block',
  force: false,
  // Cluster API's value for unreachable nodes.
  skipWaitForDeleteAfterMs: 5 * 60_000,
});

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';

export type SkipReason = 'mirror' | 'daemonset' | 'terminated';

export interface DrainPlan {
  /** Pods to evict. */
  evict: V1Pod[];
  /** Pods already being deleted: not evicted again, but waited for. */
  terminating: V1Pod[];
  skipped: { pod: V1Pod; reason: SkipReason }[];
  /** Set when a policy blocks the drain; nothing is evicted then. */
  blocked?: { reason: string; pods: string[] };
}

/** `namespace/name`, the form pods take in results and logs. */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

function controllerOf(pod: V1Pod) {
  return pod.metadata?.ownerReferences?.find((o) => o.controller === true);
}

/**
 * Sorts the pods on a node into what a drain does with them (pure).
 *
 * - A mirror pod (annotation `kubernetes.io/config.mirror`) is skipped: the API cannot evict it.
 * - A pod in phase Succeeded or Failed is skipped: it holds nothing.
 * - A pod whose controller is a DaemonSet is skipped: the DaemonSet would put it back.
 * - A pod with a deletionTimestamp is only waited for.
 * - With `emptyDir: 'block'`, any other pod with an emptyDir volume blocks the drain.
 * - With `unmanaged: 'block'`, any other pod without a controller blocks the drain.
 * - Pods to evict are ordered round-robin across their controllers.
 */
export function planDrain(
  pods: readonly V1Pod[],
  options: Pick<DrainOptions, 'emptyDir' | 'unmanaged'>,
): DrainPlan {
  const plan: DrainPlan = { evict: [], terminating: [], skipped: [] };
  const withEmptyDir: string[] = [];
  const unmanaged: string[] = [];
  for (const pod of pods) {
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
      plan.skipped.push({ pod, reason: 'mirror' });
    } else if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      plan.skipped.push({ pod, reason: 'terminated' });
    } else if (controllerOf(pod)?.kind === 'DaemonSet') {
      plan.skipped.push({ pod, reason: 'daemonset' });
    } else if (pod.metadata?.deletionTimestamp) {
      plan.terminating.push(pod);
    } else {
      if (options.emptyDir === 'block' && pod.spec?.volumes?.some((v) => v.emptyDir)) {
        withEmptyDir.push(podKey(pod));
      }
      if (options.unmanaged === 'block' && !controllerOf(pod)) unmanaged.push(podKey(pod));
      plan.evict.push(pod);
    }
  }
  const reasons: string[] = [];
  if (withEmptyDir.length > 0) {
    reasons.push(`${withEmptyDir.length} pod(s) with emptyDir volumes (emptyDir policy: block)`);
  }
  if (unmanaged.length > 0) {
    reasons.push(`${unmanaged.length} pod(s) without a controller (unmanaged policy: block)`);
  }
  plan.evict = interleaveByController(plan.evict);
  if (reasons.length > 0) {
    plan.blocked = {
      reason: reasons.join('; '),
      pods: [...new Set([...withEmptyDir, ...unmanaged])],
    };
  }
  return plan;
}

/**
 * Round-robin over the pods' controllers (pure): a workload whose PDB lets one pod go at a time
 * then holds one eviction slot, not all of them, and the other workloads drain alongside.
 */
export function interleaveByController(pods: readonly V1Pod[]): V1Pod[] {
  const groups = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const owner = controllerOf(pod)?.uid ?? `pod:${podKey(pod)}`;
    const group = groups.get(owner);
    if (group) group.push(pod);
    else groups.set(owner, [pod]);
  }
  const out: V1Pod[] = [];
  const lists = [...groups.values()];
  for (let i = 0; out.length < pods.length; i++) {
    for (const list of lists) if (i < list.length) out.push(list[i]!);
  }
  return out;
}

/** Whether the node's kubelet is out of reach, so pod deletions on it will never be confirmed. */
export function isNodeUnreachable(node: V1Node | undefined): boolean {
  if (!node) return true;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'Unknown') return true;
  return node.spec?.taints?.some((t) => t.key === UNREACHABLE_TAINT) === true;
}

/** Progress of a drain, for metrics and tests. */
export type DrainProgress =
  | { kind: 'evicted'; pod: string }
  | { kind: 'eviction-refused'; pod: string; status: number | undefined; retryInMs: number }
  | { kind: 'gone'; pod: string }
  | { kind: 'wait-skipped'; pod: string; deletionTimestamp: string }
  | { kind: 'force-deleted'; pod: string };

export interface KubeDrainerOptions {
  logger?: Logger;
  /** How often the pods on the node are listed while waiting (default 200 ms). */
  pollIntervalMs?: number;
  /** First retry delay after a refused eviction (default 200 ms); doubles up to `backoffMaxMs`. */
  backoffInitialMs?: number;
  /** Longest retry delay (default 3 s; kubectl waits a fixed 5 s). */
  backoffMaxMs?: number;
  onProgress?: (event: DrainProgress) => void;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error('non-Error thrown', { cause: error });
}

/** Resolves after `ms`, or as soon as the signal aborts (never rejects). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The promise, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(error));
      },
    );
  });
}

interface Target {
  pod: V1Pod;
  key: string;
  uid: string;
  gone: boolean;
}

export class KubeDrainer implements Drainer {
  readonly #core: CoreV1Api;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #onProgress: (event: DrainProgress) => void;

  constructor(kc: KubeConfig, options: KubeDrainerOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#logger = options.logger ?? silentLogger();
    this.#pollIntervalMs = options.pollIntervalMs ?? 200;
    this.#backoffInitialMs = options.backoffInitialMs ?? 200;
    this.#backoffMaxMs = options.backoffMaxMs ?? 3000;
    this.#onProgress = options.onProgress ?? (() => undefined);
  }

  /** Pods bound to the node (field selector, paged). */
  async listPods(node: string, signal?: AbortSignal): Promise<V1Pod[]> {
    const pods: V1Pod[] = [];
    let continueToken: string | undefined;
    do {
      const call = this.#core.listPodForAllNamespaces({
        fieldSelector: `spec.nodeName=${node}`,
        limit: 500,
        ...(continueToken ? { _continue: continueToken } : {}),
      });
      const page = await kubeCall(`list pods on node ${node}`, () =>
        signal ? untilAborted(call, signal) : call,
      );
      pods.push(...page.items);
      continueToken = page.metadata?._continue || undefined;
    } while (continueToken);
    return pods;
  }

  async drain(node: string, options: DrainOptions): Promise<DrainResult> {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const caller = options.signal ?? new AbortController().signal;
    caller.throwIfAborted();
    // `stop` ends evictions and the wait: the caller aborts, the timeout is reached, or a
    // permanent failure ends the drain (`halt`).
    const halt = new AbortController();
    const stop = AbortSignal.any([
      caller,
      halt.signal,
      AbortSignal.timeout(Math.max(0, options.timeoutMs)),
    ]);
    const log = this.#logger.child({ node });

    const plan = planDrain(await this.listPods(node, caller), options);
    if (plan.blocked) {
      log.info({ outcome: 'blocked', pods: plan.blocked.pods }, plan.blocked.reason);
      return { outcome: 'blocked', reason: plan.blocked.reason, pods: plan.blocked.pods };
    }
    const targets = new Map<string, Target>();
    for (const pod of [...plan.evict, ...plan.terminating]) {
      const uid = pod.metadata?.uid ?? podKey(pod);
      targets.set(uid, { pod, key: podKey(pod), uid, gone: false });
    }
    log.info(
      {
        evict: plan.evict.length,
        terminating: plan.terminating.length,
        skipped: plan.skipped.length,
      },
      'drain started',
    );

    let evicted = 0;
    let failure: Error | undefined;
    const markGone = (target: Target) => {
      if (target.gone) return;
      target.gone = true;
      this.#onProgress({ kind: 'gone', pod: target.key });
    };

    // Evictions, at most `parallelism` in flight.
    const queue = plan.evict.map((pod) => targets.get(pod.metadata?.uid ?? podKey(pod))!);
    let next = 0;
    const worker = async () => {
      while (next < queue.length && !stop.aborted && failure === undefined) {
        const target = queue[next++]!;
        try {
          const result = await this.#evict(target, deadline, stop);
          if (result === 'evicted') evicted += 1;
          else if (result === 'gone') markGone(target);
        } catch (error) {
          if (!stop.aborted) failure ??= asError(error);
        }
      }
    };
    const evictions = Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.parallelism, queue.length)) }, worker),
    );
    let evictionsDone = false;
    void evictions.then(() => {
      evictionsDone = true;
    });

    // The wait: poll the pods on the node until every target is gone (or no longer waited for).
    let nodeCheckedAt = 0;
    let unreachable = false;
    for (;;) {
      if (failure !== undefined) {
        halt.abort(failure);
        await evictions;
        throw failure;
      }
      if (evictionsDone && [...targets.values()].every((t) => t.gone)) {
        const durationMs = Date.now() - started;
        const skipped = plan.skipped.length;
        log.info({ outcome: 'drained', evicted, skipped, durationMs }, 'drain finished');
        return { outcome: 'drained', evicted, skipped, durationMs };
      }
      if (stop.aborted) break;
      await pause(this.#pollIntervalMs, stop);
      if (stop.aborted) break;
      let present: V1Pod[];
      try {
        present = await this.listPods(node, stop);
      } catch (error) {
        if (stop.aborted) break;
        if (error instanceof TransientError || error instanceof TooManyRequestsError) continue;
        failure ??= asError(error);
        continue;
      }
      const byUid = new Map(present.map((p) => [p.metadata?.uid ?? podKey(p), p]));
      for (const target of targets.values()) {
        if (!byUid.has(target.uid)) markGone(target);
      }
      const terminating = [...targets.values()].filter(
        (t) => !t.gone && byUid.get(t.uid)?.metadata?.deletionTimestamp,
      );
      if (terminating.length > 0 && options.skipWaitForDeleteAfterMs >= 0) {
        if (Date.now() - nodeCheckedAt >= 1000) {
          nodeCheckedAt = Date.now();
          try {
            const current = await kubeGet(`read node ${node}`, () =>
              untilAborted(this.#core.readNode({ name: node }), stop),
            );
            unreachable = isNodeUnreachable(current);
          } catch {
            // keep the last answer; the next poll asks again
          }
        }
        if (unreachable) {
          for (const target of terminating) {
            const since = byUid.get(target.uid)?.metadata?.deletionTimestamp;
            if (
              since &&
              Date.now() - new Date(since).getTime() > options.skipWaitForDeleteAfterMs
            ) {
              target.gone = true;
              this.#onProgress({
                kind: 'wait-skipped',
                pod: target.key,
                deletionTimestamp: new Date(since).toISOString(),
              });
              log.info({ pod: target.key }, 'node unreachable: no longer waiting for pod deletion');
            }
          }
        }
      }
    }

    await evictions;
    if (caller.aborted) throw caller.reason;
    return await this.#onTimeout(
      node,
      targets,
      options,
      started,
      evicted,
      plan.skipped.length,
      log,
    );
  }

  async #onTimeout(
    node: string,
    targets: Map<string, Target>,
    options: DrainOptions,
    started: number,
    evictedBefore: number,
    skipped: number,
    log: Logger,
  ): Promise<DrainResult> {
    // One last look, so that pods that left during the last poll interval are not reported.
    const caller = options.signal ?? new AbortController().signal;
    const present = new Set((await this.listPods(node, caller)).map((p) => p.metadata?.uid ?? ''));
    let remaining = [...targets.values()].filter((t) => !t.gone && present.has(t.uid));
    if (remaining.length > 0 && options.force) {
      let evicted = evictedBefore;
      for (const target of remaining) {
        try {
          await kubeCall(`force-delete pod ${target.key}`, () =>
            untilAborted(
              this.#core.deleteNamespacedPod({
                name: target.pod.metadata?.name ?? '',
                namespace: target.pod.metadata?.namespace ?? '',
                gracePeriodSeconds: 0,
                body: { gracePeriodSeconds: 0, preconditions: { uid: target.uid } },
              }),
              caller,
            ),
          );
          evicted += 1;
          this.#onProgress({ kind: 'force-deleted', pod: target.key });
          log.warn({ pod: target.key }, 'drain timed out: pod force-deleted (PDB ignored)');
        } catch (error) {
          if (!(error instanceof NotFoundError || error instanceof ConflictError)) throw error;
        }
      }
      // Grace period 0 removes the objects at once unless a finalizer holds them.
      const graceDeadline = Date.now() + 10_000;
      for (;;) {
        const left = new Set((await this.listPods(node, caller)).map((p) => p.metadata?.uid ?? ''));
        remaining = remaining.filter((t) => left.has(t.uid));
        if (remaining.length === 0) {
          const durationMs = Date.now() - started;
          log.info({ outcome: 'drained', forced: true, evicted, durationMs }, 'drain finished');
          return { outcome: 'drained', evicted, skipped, durationMs };
        }
        if (Date.now() > graceDeadline || caller.aborted) break;
        await pause(this.#pollIntervalMs, caller);
      }
      caller.throwIfAborted();
    }
    const durationMs = Date.now() - started;
    const pods = remaining.map((t) => t.key);
    log.warn({ outcome: 'timeout', remaining: pods, durationMs }, 'drain timed out');
    return { outcome: 'timeout', remaining: pods, durationMs };
  }

  /**
   * Evicts one pod, retrying refusals (429: PDB or throttling) and transient failures with
   * exponential backoff and jitter until the deadline. `gone` when the pod (this uid) no longer
   * exists; `stopped` when the drain stopped first.
   */
  async #evict(
    target: Target,
    deadline: number,
    stop: AbortSignal,
  ): Promise<'evicted' | 'gone' | 'stopped'> {
    const name = target.pod.metadata?.name ?? '';
    const namespace = target.pod.metadata?.namespace ?? '';
    let backoff = this.#backoffInitialMs;
    while (!stop.aborted) {
      try {
        await untilAborted(
          this.#core.createNamespacedPodEviction({
            name,
            namespace,
            body: {
              apiVersion: 'policy/v1',
              kind: 'Eviction',
              metadata: { name, namespace },
              deleteOptions: { preconditions: { uid: target.uid } },
            },
          }),
          stop,
        );
        this.#onProgress({ kind: 'evicted', pod: target.key });
        return 'evicted';
      } catch (raw) {
        if (stop.aborted) return 'stopped';
        const error = toKubeError(raw, `evict pod ${target.key}`);
        if (error instanceof NotFoundError) return 'gone';
        if (error instanceof ConflictError && (await this.#isGone(target, stop))) return 'gone';
        if (
          !(error instanceof TooManyRequestsError) &&
          !(error instanceof TransientError) &&
          !(error instanceof ConflictError)
        ) {
          throw error;
        }
        // Equal jitter: half the step fixed, half random, so refused pods do not retry in lockstep.
        const wait = Math.min(backoff / 2 + Math.random() * (backoff / 2), deadline - Date.now());
        this.#onProgress({
          kind: 'eviction-refused',
          pod: target.key,
          status: error.status,
          retryInMs: Math.round(wait),
        });
        if (wait <= 0) return 'stopped';
        await pause(wait, stop);
        backoff = Math.min(backoff * 2, this.#backoffMaxMs);
      }
    }
    return 'stopped';
  }

  async #isGone(target: Target, stop: AbortSignal): Promise<boolean> {
    const current = await kubeGet(`read pod ${target.key}`, () =>
      untilAborted(
        this.#core.readNamespacedPod({
          name: target.pod.metadata?.name ?? '',
          namespace: target.pod.metadata?.namespace ?? '',
        }),
        stop,
      ),
    );
    return current?.metadata?.uid !== target.uid;
  }
}
