// Dry-run twins of NodeOps, Drainer and Provider: they read the cluster (so that what they report
// is what would really happen now) and record every intended change in an array, mutating
// nothing. NODEHEAL_DRY_RUN and `nodeheal simulate` wire these instead of the real ones.
//
// - NodeOps: `get` reads; cordon/uncordon decide on the Node as it is and return the outcome the
//   real call would; annotateHeal and event only record.
// - Drainer: lists the pods on the node (field selector) and plans the drain with the real
//   policy; a blocked plan is returned as `blocked`, otherwise `drained` with the number of pods
//   it would evict (nothing is evicted, `durationMs` is 0).
// - Provider: records the node it would replace and answers `replaced` with a dry-run detail.
import type { V1Node } from '@kubernetes/client-node';
import type { KubeDrainer } from './drain.ts';
import { planDrain, podKey } from './drain-plan.ts';
import {
  ANNOTATION_OUT_OF_SERVICE,
  type DrainOptions,
  type DrainResult,
  type Drainer,
  type EventReason,
  type FenceResult,
  type NodeOps,
  type Provider,
  type ReplaceResult,
} from './interfaces.ts';
import { cordonDecision, uncordonDecision } from './kube-node-ops.ts';

export interface DryRunCall {
  /** ISO time of the call. */
  at: string;
  target: 'node-ops' | 'drainer' | 'provider';
  op:
    | 'cordon'
    | 'uncordon'
    | 'annotate-heal'
    | 'event'
    | 'drain'
    | 'replace'
    | 'fence'
    | 'taint-out-of-service'
    | 'remove-out-of-service';
  node: string;
  /** The arguments of the call that matter (reason, annotation value, pods, provider...). */
  detail: Record<string, unknown>;
  /** What the real implementation would have answered. */
  result?: unknown;
}

/** Where dry-run twins write what they would have done; one per process or per test. */
export class DryRunRecorder {
  readonly calls: DryRunCall[] = [];
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  record(call: Omit<DryRunCall, 'at'>): void {
    this.calls.push({ at: this.#now().toISOString(), ...call });
  }
}

/** NodeOps that reads through `reader` (any NodeOps; only its reads are used) and mutates nothing. */
export class DryRunNodeOps implements NodeOps {
  readonly #reader: Pick<NodeOps, 'get' | 'lastHeardAt'>;
  readonly #recorder: DryRunRecorder;

  constructor(reader: Pick<NodeOps, 'get' | 'lastHeardAt'>, recorder: DryRunRecorder) {
    this.#reader = reader;
    this.#recorder = recorder;
  }

  async get(node: string): Promise<V1Node | undefined> {
    return await this.#reader.get(node);
  }

  async cordon(node: string) {
    const result = cordonDecision(await this.#reader.get(node));
    this.#recorder.record({ target: 'node-ops', op: 'cordon', node, detail: {}, result });
    return result;
  }

  async uncordon(node: string) {
    const result = uncordonDecision(await this.#reader.get(node));
    this.#recorder.record({ target: 'node-ops', op: 'uncordon', node, detail: {}, result });
    return result;
  }

  annotateHeal(node: string, value: string | null): Promise<void> {
    this.#recorder.record({ target: 'node-ops', op: 'annotate-heal', node, detail: { value } });
    return Promise.resolve();
  }

  async taintOutOfService(node: string, healId: string) {
    const result = (await this.#reader.get(node)) ? 'tainted' : 'absent';
    this.#recorder.record({
      target: 'node-ops',
      op: 'taint-out-of-service',
      node,
      detail: { healId },
      result,
    });
    return result;
  }

  async removeOutOfService(node: string) {
    const current = await this.#reader.get(node);
    const result = !current
      ? 'absent'
      : current.metadata?.annotations?.[ANNOTATION_OUT_OF_SERVICE] === undefined
        ? 'not-ours'
        : 'removed';
    this.#recorder.record({
      target: 'node-ops',
      op: 'remove-out-of-service',
      node,
      detail: {},
      result,
    });
    return result;
  }

  async lastHeardAt(node: string): Promise<number | undefined> {
    return await this.#reader.lastHeardAt(node);
  }

  event(
    node: string,
    reason: EventReason,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
    key?: string,
  ): Promise<void> {
    this.#recorder.record({
      target: 'node-ops',
      op: 'event',
      node,
      detail: { reason, message, type, ...(key === undefined ? {} : { key }) },
    });
    return Promise.resolve();
  }
}

/** A Drainer that lists and plans (through a KubeDrainer's read side) and evicts nothing. */
export class DryRunDrainer implements Drainer {
  readonly #reader: Pick<KubeDrainer, 'listPods'>;
  readonly #recorder: DryRunRecorder;

  constructor(reader: Pick<KubeDrainer, 'listPods'>, recorder: DryRunRecorder) {
    this.#reader = reader;
    this.#recorder = recorder;
  }

  async drain(node: string, options: DrainOptions): Promise<DrainResult> {
    options.signal?.throwIfAborted();
    const plan = planDrain(await this.#reader.listPods(node, options.signal), options);
    const result: DrainResult = plan.blocked
      ? { outcome: 'blocked', reason: plan.blocked.reason, pods: plan.blocked.pods }
      : {
          outcome: 'drained',
          evicted: plan.evict.length,
          skipped: plan.skipped.length,
          durationMs: 0,
        };
    this.#recorder.record({
      target: 'drainer',
      op: 'drain',
      node,
      detail: {
        evict: plan.evict.map(podKey),
        waitFor: plan.terminating.map(podKey),
        skip: plan.skipped.map((s) => ({ pod: podKey(s.pod), reason: s.reason })),
        timeoutMs: options.timeoutMs,
        parallelism: options.parallelism,
        force: options.force,
      },
      result,
    });
    return result;
  }
}

/** A Provider with the name and surge ability of `real` that only records. */
export class DryRunProvider implements Provider {
  readonly name: Provider['name'];
  readonly canSurge: boolean;
  readonly #recorder: DryRunRecorder;

  /** Present when the real provider can fence: records what it would terminate. */
  readonly fence?: (node: V1Node) => Promise<FenceResult>;

  constructor(real: Pick<Provider, 'name' | 'canSurge' | 'fence'>, recorder: DryRunRecorder) {
    this.name = real.name;
    this.canSurge = real.canSurge;
    this.#recorder = recorder;
    if (real.fence) {
      this.fence = (node: V1Node) => {
        const name = node.metadata?.name ?? '';
        const result: FenceResult = {
          outcome: 'fenced',
          detail: `dry run: provider ${this.name} would terminate the machine of ${name}`,
        };
        this.#recorder.record({ target: 'provider', op: 'fence', node: name, detail: {}, result });
        return Promise.resolve(result);
      };
    }
  }

  replace(node: V1Node): Promise<ReplaceResult> {
    const name = node.metadata?.name ?? '';
    const result: ReplaceResult = {
      outcome: 'replaced',
      detail: `dry run: provider ${this.name} would replace node ${name}`,
    };
    this.#recorder.record({
      target: 'provider',
      op: 'replace',
      node: name,
      detail: { provider: this.name, uid: node.metadata?.uid },
      result,
    });
    return Promise.resolve(result);
  }
}
