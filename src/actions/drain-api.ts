// The API server calls a drain makes, each abortable: listing the pods bound to a node, evicting
// one pod, reading the Node, force-deleting a pod. The drainer (drain.ts) decides which pods and
// when; this file owns how one call is made, which failures are worth retrying and what the others
// mean, so that the drainer reads as the drain's sequence and not as error handling.
//
// - Pods are listed with the field selector `spec.nodeName=<node>`, never cluster-wide.
// - Each eviction carries the pod's uid as a precondition, so a pod recreated with the same name
//   is never evicted by mistake.
// - 429 (a PDB forbids it now, or API throttling) and transient errors are retried with
//   exponential backoff and jitter until the deadline; a permanent error (403, 422...) rejects.
import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import {
  ConflictError,
  kubeCall,
  kubeGet,
  NotFoundError,
  toKubeError,
  TooManyRequestsError,
  TransientError,
} from '../kube/index.ts';
import { pause, untilAborted } from './abortable.ts';

/** The progress events an eviction reports; part of the drain's DrainProgress. */
export type EvictionProgress =
  | { kind: 'evicted'; pod: string }
  | { kind: 'eviction-refused'; pod: string; status: number | undefined; retryInMs: number };

/** A pod the drain acts on, known by uid: the same name with another uid is another pod. */
export interface TargetPod {
  pod: V1Pod;
  /** `namespace/name`, for events and logs. */
  key: string;
  uid: string;
}

export interface DrainApiOptions {
  /** First retry delay after a refused eviction; doubles up to `backoffMaxMs`. */
  backoffInitialMs: number;
  /** Longest retry delay. */
  backoffMaxMs: number;
  onEviction: (event: EvictionProgress) => void;
}

export class DrainApi {
  readonly #core: CoreV1Api;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #onEviction: (event: EvictionProgress) => void;

  constructor(kc: KubeConfig, options: DrainApiOptions) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#backoffInitialMs = options.backoffInitialMs;
    this.#backoffMaxMs = options.backoffMaxMs;
    this.#onEviction = options.onEviction;
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

  /** The Node, or `undefined` once it is deleted. */
  async readNode(node: string, signal: AbortSignal): Promise<V1Node | undefined> {
    return await kubeGet(`read node ${node}`, () =>
      untilAborted(this.#core.readNode({ name: node }), signal),
    );
  }

  /**
   * Evicts one pod, retrying refusals (429: PDB or throttling) and transient failures with
   * exponential backoff and jitter until the deadline. `gone` when the pod (this uid) no longer
   * exists; `stopped` when the drain stopped first.
   */
  async evict(
    target: TargetPod,
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
        this.#onEviction({ kind: 'evicted', pod: target.key });
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
        this.#onEviction({
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

  /**
   * Deletes the pod at once (grace period 0), PDBs ignored; the uid precondition still holds.
   * `gone` when the pod, or this uid of it, no longer exists.
   */
  async forceDelete(target: TargetPod, signal: AbortSignal): Promise<'deleted' | 'gone'> {
    try {
      await kubeCall(`force-delete pod ${target.key}`, () =>
        untilAborted(
          this.#core.deleteNamespacedPod({
            name: target.pod.metadata?.name ?? '',
            namespace: target.pod.metadata?.namespace ?? '',
            gracePeriodSeconds: 0,
            body: { gracePeriodSeconds: 0, preconditions: { uid: target.uid } },
          }),
          signal,
        ),
      );
      return 'deleted';
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof ConflictError) return 'gone';
      throw error;
    }
  }

  async #isGone(target: TargetPod, stop: AbortSignal): Promise<boolean> {
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
