// The drainer: what `kubectl drain` does, built for a healer (PDBs respected, bounded, abortable,
// uid-aware), and faster on the waiting side. This file owns the sequence of a drain: plan, evict
// in parallel, wait for the pods to go, and what happens at the timeout. What is evicted is decided
// by drain-plan.ts (pure policy); how each API call is made and retried, by drain-api.ts.
//
// - Evictions run in parallel, at most `parallelism` in flight.
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
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { TooManyRequestsError, TransientError } from '../kube/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { asError, pause } from './abortable.ts';
import { DrainApi, type EvictionProgress, type TargetPod } from './drain-api.ts';
import { isNodeUnreachable, planDrain, podKey } from './drain-plan.ts';
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

/** Progress of a drain, for metrics and tests. */
export type DrainProgress =
  | EvictionProgress
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

/** A pod the drain waits for; `gone` once this uid has left the node or is no longer waited for. */
interface Target extends TargetPod {
  gone: boolean;
}

export class KubeDrainer implements Drainer {
  readonly #api: DrainApi;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #onProgress: (event: DrainProgress) => void;

  constructor(kc: KubeConfig, options: KubeDrainerOptions = {}) {
    this.#logger = options.logger ?? silentLogger();
    this.#pollIntervalMs = options.pollIntervalMs ?? 200;
    this.#onProgress = options.onProgress ?? (() => undefined);
    this.#api = new DrainApi(kc, {
      backoffInitialMs: options.backoffInitialMs ?? 200,
      backoffMaxMs: options.backoffMaxMs ?? 3000,
      onEviction: this.#onProgress,
    });
  }

  /** Pods bound to the node (field selector, paged). */
  async listPods(node: string, signal?: AbortSignal): Promise<V1Pod[]> {
    return await this.#api.listPods(node, signal);
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
          const result = await this.#api.evict(target, deadline, stop);
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
            unreachable = isNodeUnreachable(await this.#api.readNode(node, stop));
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
        // Gone already, or a new pod under the same name: nothing of ours to count or report.
        if ((await this.#api.forceDelete(target, caller)) === 'gone') continue;
        evicted += 1;
        this.#onProgress({ kind: 'force-deleted', pod: target.key });
        log.warn({ pod: target.key }, 'drain timed out: pod force-deleted (PDB ignored)');
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
}
