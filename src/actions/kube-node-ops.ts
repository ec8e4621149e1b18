// NodeOps over the Kubernetes API: cordon and uncordon with ownership, the heal annotation, and
// Events on the Node.
//
// - Writes are JSON merge patches carrying the resourceVersion that was read, so a concurrent
//   change (someone else cordons between our read and our write) answers 409 and the decision is
//   taken again on fresh state.
// - cordon: a node that is already unschedulable without `nodeheal.io/cordoned-by=nodeheal` is
//   someone else's cordon: left exactly as it is.
// - uncordon: only a cordon that carries our annotation is undone (unschedulable and the
//   annotation are removed together).
// - 404 is state: `absent`, `undefined`, or a no-op for the heal annotation.
// - The out-of-service taint is set with `nodeheal.io/out-of-service=<heal id>`, and only a taint
//   carrying that annotation is removed again.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Node,
} from '@kubernetes/client-node';
import { ConflictError, kubeCall, kubeGet, NotFoundError } from '../kube/index.ts';
import { mergePatch } from '../kube/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import {
  ANNOTATION_CORDONED_BY,
  ANNOTATION_HEAL,
  ANNOTATION_OUT_OF_SERVICE,
  CORDONED_BY_VALUE,
  TAINT_OUT_OF_SERVICE,
  EVENT_REASONS,
  type EventReason,
  type NodeOps,
} from './interfaces.ts';

/** Source component of every Event nodeheal writes. */
export const EVENT_SOURCE_COMPONENT = 'nodeheal';
/** Where the kubelets' heartbeat Leases live. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** Events about cluster-scoped Nodes live in `default`, as the kubelet's do. */
export const NODE_EVENT_NAMESPACE = 'default';
/** Event messages are capped by the API server at 1 KiB for events.k8s.io; keep core Events alike. */
const MAX_MESSAGE_LENGTH = 1024;
const MAX_CONFLICT_RETRIES = 5;

export interface KubeNodeOpsOptions {
  logger?: Logger;
  /** `reportingInstance` of Events; defaults to the host name (the pod name in a cluster). */
  instance?: string;
  /**
   * A heal's status page (NODEHEAL_PUBLIC_URL): the `nodeheal.io/heal` annotation
   * (`<healId> <step>:<action>`) then ends with it, after a space.
   */
  healLink?: ((healId: string) => string) | undefined;
}

export type CordonOutcome = Awaited<ReturnType<NodeOps['cordon']>>;
export type UncordonOutcome = Awaited<ReturnType<NodeOps['uncordon']>>;

/** Who owns the current cordon of a node, as nodeheal decides it (pure; shared with dry-run). */
export function cordonState(node: V1Node): 'schedulable' | 'ours' | 'theirs' {
  const ours = node.metadata?.annotations?.[ANNOTATION_CORDONED_BY] === CORDONED_BY_VALUE;
  if (!node.spec?.unschedulable) return 'schedulable';
  return ours ? 'ours' : 'theirs';
}

/** The field manager of nodeheal's changes to Nodes (cordon, uncordon, marks, taints). */
export const NODEHEAL_FIELD_MANAGER = 'nodeheal';

/**
 * Who lifted nodeheal's own cordon, when someone else did (pure): the Node still carries
 * nodeheal's cordoned-by mark (nodeheal removes it when it uncordons) but is schedulable again.
 * The one named is the field manager that owns `spec.unschedulable` (set to false explicitly),
 * else the latest manager of the Node's spec other than nodeheal's; `kubectl uncordon` removes
 * the field, and with it the only trace of who did.
 */
export function uncordonedBySomeoneElse(node: V1Node): string | undefined {
  if (node.spec?.unschedulable) return undefined;
  if (node.metadata?.annotations?.[ANNOTATION_CORDONED_BY] !== CORDONED_BY_VALUE) return undefined;
  const entries = (node.metadata.managedFields ?? []).filter(
    (f) => !f.subresource && f.manager !== undefined && f.manager !== NODEHEAL_FIELD_MANAGER,
  );
  const spec = (f: (typeof entries)[number]) =>
    (f.fieldsV1 as Record<string, Record<string, unknown> | undefined> | undefined)?.['f:spec'];
  const owner = entries.find((f) => spec(f)?.['f:unschedulable'] !== undefined);
  if (owner?.manager) return owner.manager;
  const latest = entries
    .filter((f) => spec(f) !== undefined && f.time !== undefined)
    .sort((a, b) => new Date(b.time!).getTime() - new Date(a.time!).getTime())[0];
  return latest?.manager
    ? `someone (the Node does not say who; ${latest.manager} changed its spec last)`
    : 'someone (the Node does not say who)';
}

/** What `cordon` does to a node in this state (pure; shared with dry-run). */
export function cordonDecision(node: V1Node | undefined): CordonOutcome {
  if (!node) return 'absent';
  const state = cordonState(node);
  if (state === 'ours') return 'already-cordoned-by-us';
  if (state === 'theirs') return 'cordoned-by-someone-else';
  return 'cordoned';
}

/** What `uncordon` does to a node in this state (pure; shared with dry-run). */
export function uncordonDecision(node: V1Node | undefined): UncordonOutcome {
  if (!node) return 'absent';
  return node.metadata?.annotations?.[ANNOTATION_CORDONED_BY] === CORDONED_BY_VALUE
    ? 'uncordoned'
    : 'not-ours';
}

export class KubeNodeOps implements NodeOps {
  readonly #core: CoreV1Api;
  readonly #coordination: CoordinationV1Api;
  readonly #logger: Logger;
  readonly #instance: string;
  readonly #healLink: ((healId: string) => string) | undefined;

  constructor(kc: KubeConfig, options: KubeNodeOpsOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#coordination = kc.makeApiClient(CoordinationV1Api);
    this.#logger = options.logger ?? silentLogger();
    this.#instance = options.instance ?? hostname();
    this.#healLink = options.healLink;
  }

  async get(node: string): Promise<V1Node | undefined> {
    return await kubeGet(`read node ${node}`, () => this.#core.readNode({ name: node }));
  }

  async cordon(node: string): Promise<CordonOutcome> {
    return await this.#withConflictRetry(`cordon node ${node}`, async () => {
      const current = await this.get(node);
      const decision = cordonDecision(current);
      if (decision !== 'cordoned') return decision;
      await this.#patch(node, {
        metadata: {
          resourceVersion: current?.metadata?.resourceVersion,
          annotations: { [ANNOTATION_CORDONED_BY]: CORDONED_BY_VALUE },
        },
        spec: { unschedulable: true },
      });
      return 'cordoned';
    });
  }

  async uncordon(node: string): Promise<UncordonOutcome> {
    return await this.#withConflictRetry(`uncordon node ${node}`, async () => {
      const current = await this.get(node);
      const decision = uncordonDecision(current);
      if (decision !== 'uncordoned') return decision;
      await this.#patch(node, {
        metadata: {
          resourceVersion: current?.metadata?.resourceVersion,
          annotations: { [ANNOTATION_CORDONED_BY]: null },
        },
        spec: { unschedulable: null },
      });
      return 'uncordoned';
    });
  }

  async annotateHeal(node: string, value: string | null): Promise<void> {
    const healId = value?.split(' ', 1)[0];
    if (value !== null && healId && this.#healLink) value = `${value} ${this.#healLink(healId)}`;
    try {
      await this.#patch(node, { metadata: { annotations: { [ANNOTATION_HEAL]: value } } });
      this.#logger.info({ node, annotation: ANNOTATION_HEAL, value }, 'heal annotation set');
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
  }

  async event(
    node: string,
    reason: EventReason,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
    key?: string,
  ): Promise<void> {
    if (!(EVENT_REASONS as readonly string[]).includes(reason)) {
      throw new TypeError(`unknown Event reason ${String(reason)}`);
    }
    // The Node's uid ties the Event to this incarnation of the node; for a Node that is already
    // gone (NodeReplaced) the name stands in for it, as the kubelet's own node Events do.
    const current = await this.get(node);
    const now = new Date();
    const name =
      key === undefined ? { generateName: `${node}.nodeheal.` } : { name: eventName(node, key) };
    const body = {
      metadata: { ...name, namespace: NODE_EVENT_NAMESPACE },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Node',
        name: node,
        uid: current?.metadata?.uid ?? node,
      },
      reason,
      message: message.length > MAX_MESSAGE_LENGTH ? message.slice(0, MAX_MESSAGE_LENGTH) : message,
      type,
      source: { component: EVENT_SOURCE_COMPONENT },
      reportingComponent: EVENT_SOURCE_COMPONENT,
      reportingInstance: this.#instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await kubeCall(`create Event ${reason} on node ${node}`, () =>
        this.#core.createNamespacedEvent({ namespace: NODE_EVENT_NAMESPACE, body }),
      );
    } catch (error) {
      // Named from its key and there already: written before a crash, so told once.
      if (key !== undefined && error instanceof ConflictError) {
        this.#logger.info({ node, reason, key }, 'event already recorded');
        return;
      }
      throw error;
    }
    this.#logger.info({ node, reason, type }, 'event recorded');
  }

  async taintOutOfService(node: string, healId: string): Promise<'tainted' | 'absent'> {
    return await this.#withConflictRetry(`taint node ${node} out-of-service`, async () => {
      const current = await this.get(node);
      if (!current) return 'absent';
      const taints = current.spec?.taints ?? [];
      if (taints.some((t) => t.key === TAINT_OUT_OF_SERVICE)) return 'tainted';
      // A merge patch replaces the whole list: the resourceVersion makes it a compare-and-set.
      await this.#patch(node, {
        metadata: {
          resourceVersion: current.metadata?.resourceVersion,
          annotations: { [ANNOTATION_OUT_OF_SERVICE]: healId },
        },
        spec: {
          taints: [
            ...taints,
            { key: TAINT_OUT_OF_SERVICE, value: 'nodeshutdown', effect: 'NoExecute' },
          ],
        },
      });
      return 'tainted';
    });
  }

  async removeOutOfService(node: string): Promise<'removed' | 'not-ours' | 'absent'> {
    return await this.#withConflictRetry(`remove out-of-service taint of ${node}`, async () => {
      const current = await this.get(node);
      if (!current) return 'absent';
      if (current.metadata?.annotations?.[ANNOTATION_OUT_OF_SERVICE] === undefined)
        return 'not-ours';
      const taints = (current.spec?.taints ?? []).filter((t) => t.key !== TAINT_OUT_OF_SERVICE);
      await this.#patch(node, {
        metadata: {
          resourceVersion: current.metadata?.resourceVersion,
          annotations: { [ANNOTATION_OUT_OF_SERVICE]: null },
        },
        spec: { taints },
      });
      return 'removed';
    });
  }

  async lastHeardAt(node: string): Promise<number | undefined> {
    const lease = await kubeGet(`read lease of node ${node}`, () =>
      this.#coordination.readNamespacedLease({ name: node, namespace: NODE_LEASE_NAMESPACE }),
    );
    const renewed = lease?.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : undefined;
    const current = await this.get(node);
    const ready = current?.status?.conditions?.find((c) => c.type === 'Ready');
    const heartbeat = ready?.lastHeartbeatTime
      ? new Date(ready.lastHeartbeatTime).getTime()
      : undefined;
    const heard = [renewed, heartbeat].filter(
      (t): t is number => t !== undefined && !Number.isNaN(t),
    );
    return heard.length > 0 ? Math.max(...heard) : undefined;
  }

  async #patch(node: string, body: object): Promise<V1Node> {
    // Named, so that the Node's managed fields tell nodeheal's changes from an operator's.
    return await kubeCall(`patch node ${node}`, () =>
      this.#core.patchNode({ name: node, body, fieldManager: NODEHEAL_FIELD_MANAGER }, mergePatch),
    );
  }

  async #withConflictRetry<T extends string>(
    what: string,
    attempt: () => Promise<T>,
  ): Promise<T | 'absent'> {
    for (let i = 0; ; i++) {
      try {
        const outcome = await attempt();
        this.#logger.info({ action: what, outcome }, 'node ops decision');
        return outcome;
      } catch (error) {
        if (error instanceof NotFoundError) return 'absent';
        if (!(error instanceof ConflictError) || i >= MAX_CONFLICT_RETRIES) throw error;
      }
    }
  }
}

/**
 * The name of the Event told once for `key` on `node`: `<node>.nodeheal.<hash of key>`, the
 * node's name shortened so that the whole stays within the 253 characters of a name and ends
 * with a letter or digit.
 */
export function eventName(node: string, key: string): string {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 20);
  const prefix = node.slice(0, 253 - '.nodeheal.'.length - digest.length).replace(/[.-]+$/, '');
  return `${prefix}.nodeheal.${digest}`;
}
