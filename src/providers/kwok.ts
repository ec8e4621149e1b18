// The local simulated pool: KWOK "kubelets" bring up any Node object that carries the KWOK label,
// so replacing a node means creating a fresh Node for the same pool and deleting the old one.
//
// - The replacement is named `<pool>-r-<suffix>`, the suffix derived from the old Node's uid: a
//   second call for the same node finds the same replacement instead of creating another
//   (idempotent), and the name looks random across nodes.
// - It carries the old node's labels except per-node ones (kubernetes.io/hostname is its own name),
//   the KWOK label set to `fake` (the old node may have lost it: that is how a dead kubelet is
//   simulated), the pool's taints except the ones Kubernetes manages, and a fresh InternalIP
//   annotation in the old node's /24 (not one already used in the pool).
// - Surge: the replacement is created and awaited Ready (and free of the not-ready taint, so pods
//   can land on it) before the old Node is deleted; if it is not Ready in time the old node is
//   left in place and the result is `failed`.
// - The old Node is deleted with its uid as precondition; already gone is `replaced`.
import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Node, type V1Taint } from '@kubernetes/client-node';
import { ConflictError, kubeCall, kubeGet, NotFoundError } from '../kube/index.ts';
import { mergePatch } from '../kube/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import type { FenceResult, Provider, ReplaceResult } from '../actions/index.ts';
import { defineProvider } from './provider-definition.ts';

export const KWOK_NODE_LABEL = 'kwok.x-k8s.io/node';
export const KWOK_MANAGED_VALUE = 'fake';
/** The local stack's KWOK stage reads a node's InternalIP from this annotation. */
export const INTERNAL_IP_ANNOTATION = 'nodeheal.test/internal-ip';
/** Label naming a node's pool in the local stack (test/stack/helpers/pool.ts). */
export const DEFAULT_POOL_LABEL = 'nodeheal.test/pool';
/** Labels that describe one machine, not its pool: not copied to the replacement. */
export const PER_NODE_LABELS: readonly string[] = ['kubernetes.io/hostname'];
/** Taint key prefixes Kubernetes itself manages (unreachable, not-ready, unschedulable...). */
const SYSTEM_TAINT_PREFIXES = ['node.kubernetes.io/', 'node.cloudprovider.kubernetes.io/'];

export interface KwokProviderOptions {
  /** Label whose value names the node's pool (default `nodeheal.test/pool`). */
  poolLabel?: string;
  /** How long to wait for the replacement to be Ready before giving up (default 60 s). */
  readyTimeoutMs?: number;
  pollIntervalMs?: number;
  logger?: Logger;
}

/**
 * Ready and able to take pods: Ready=True, and the node lifecycle controller has lifted the
 * not-ready/unreachable taints it puts on every new node (until then nothing schedules there).
 */
export function readyForPods(node: V1Node | undefined): boolean {
  const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const tainted = node?.spec?.taints?.some(
    (t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable',
  );
  return ready && !tainted;
}

/** The pool a node belongs to: its pool label, or its name without the index suffix. */
export function poolOf(node: V1Node, poolLabel = DEFAULT_POOL_LABEL): string {
  const label = node.metadata?.labels?.[poolLabel];
  if (label) return label;
  return (node.metadata?.name ?? 'node').replace(/-r-[a-z0-9]+$/, '').replace(/-\d+$/, '');
}

/** `<pool>-r-<8 hex digits of the old node's uid hash>` (deterministic, so replace is idempotent). */
export function replacementName(node: V1Node, poolLabel = DEFAULT_POOL_LABEL): string {
  const seed = node.metadata?.uid ?? node.metadata?.name ?? '';
  const suffix = createHash('sha256').update(seed).digest('hex').slice(0, 8);
  return `${poolOf(node, poolLabel).slice(0, 50)}-r-${suffix}`;
}

/** An IPv4 address in the same /24 as `ip`, not in `used`, starting at a point derived from `seed`. */
export function freeAddress(
  ip: string,
  used: ReadonlySet<string>,
  seed: string,
): string | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  const prefix = parts.slice(0, 3).join('.');
  const start = createHash('sha256').update(seed).digest().readUInt8(0);
  for (let i = 0; i < 253; i++) {
    const host = 2 + ((start + i) % 253);
    const candidate = `${prefix}.${host}`;
    if (!used.has(candidate)) return candidate;
  }
  return undefined;
}

/** The Node object of the replacement (pure). */
export function replacementNode(old: V1Node, name: string, internalIp: string | undefined): V1Node {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(old.metadata?.labels ?? {})) {
    if (!PER_NODE_LABELS.includes(key)) labels[key] = value;
  }
  labels['kubernetes.io/hostname'] = name;
  labels[KWOK_NODE_LABEL] = KWOK_MANAGED_VALUE;
  const taints: V1Taint[] = (old.spec?.taints ?? []).filter(
    (t) => !SYSTEM_TAINT_PREFIXES.some((prefix) => t.key.startsWith(prefix)),
  );
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels,
      ...(internalIp ? { annotations: { [INTERNAL_IP_ANNOTATION]: internalIp } } : {}),
    },
    spec: taints.length > 0 ? { taints } : {},
  };
}

function addressesOf(node: V1Node): string[] {
  const out = (node.status?.addresses ?? []).map((a) => a.address);
  const annotated = node.metadata?.annotations?.[INTERNAL_IP_ANNOTATION];
  if (annotated) out.push(annotated);
  return out;
}

export class KwokProvider implements Provider {
  readonly name = 'kwok' as const;
  readonly canSurge = true;
  readonly #core: CoreV1Api;
  readonly #poolLabel: string;
  readonly #readyTimeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #logger: Logger;

  constructor(kc: KubeConfig, options: KwokProviderOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#poolLabel = options.poolLabel ?? DEFAULT_POOL_LABEL;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#logger = options.logger ?? silentLogger();
  }

  async surge(node: V1Node): Promise<ReplaceResult> {
    return await this.replace(node, { keepOld: true });
  }

  async replace(node: V1Node, options: { keepOld?: boolean } = {}): Promise<ReplaceResult> {
    const oldName = node.metadata?.name ?? '';
    const uid = node.metadata?.uid;
    const name = replacementName(node, this.#poolLabel);
    const log = this.#logger.child({ node: oldName, provider: this.name });
    const current = await this.#read(oldName);
    const existing = await this.#read(name);
    if (!current || (uid && current.metadata?.uid !== uid)) {
      return {
        outcome: 'replaced',
        ...(existing ? { replacement: name } : {}),
        detail: `node ${oldName} is already gone${existing ? `; replacement ${name}` : ''}`,
      };
    }

    if (!existing) {
      const ip = await this.#pickAddress(current);
      try {
        await kubeCall(`create replacement node ${name}`, () =>
          this.#core.createNode({ body: replacementNode(current, name, ip) }),
        );
        log.info({ replacement: name, internalIp: ip }, 'replacement node created');
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }

    const deadline = Date.now() + this.#readyTimeoutMs;
    while (!readyForPods(await this.#read(name))) {
      if (Date.now() > deadline) {
        return {
          outcome: 'failed',
          detail: `replacement ${name} not Ready after ${this.#readyTimeoutMs} ms; ${oldName} left in place`,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, this.#pollIntervalMs));
    }
    if (options.keepOld) {
      return {
        outcome: 'replaced',
        replacement: name,
        detail: `KWOK node ${name} is Ready (surge); ${oldName} kept`,
      };
    }

    try {
      await kubeCall(`delete node ${oldName}`, () =>
        this.#core.deleteNode({
          name: oldName,
          body: uid ? { preconditions: { uid } } : {},
        }),
      );
    } catch (error) {
      if (!(error instanceof NotFoundError || error instanceof ConflictError)) throw error;
    }
    log.info({ replacement: name }, 'node replaced');
    return {
      outcome: 'replaced',
      replacement: name,
      detail: `KWOK node ${name} is Ready; node ${oldName} deleted`,
    };
  }

  async #read(name: string): Promise<V1Node | undefined> {
    return await kubeGet(`read node ${name}`, () => this.#core.readNode({ name }));
  }

  async #pickAddress(old: V1Node): Promise<string | undefined> {
    const oldIp = old.metadata?.annotations?.[INTERNAL_IP_ANNOTATION];
    if (!oldIp) return undefined;
    const pool = old.metadata?.labels?.[this.#poolLabel];
    const peers = pool
      ? (
          await kubeCall(`list nodes of pool ${pool}`, () =>
            this.#core.listNode({ labelSelector: `${this.#poolLabel}=${pool}` }),
          )
        ).items
      : [old];
    const used = new Set(peers.flatMap(addressesOf));
    return freeAddress(oldIp, used, old.metadata?.uid ?? oldIp);
  }

  /**
   * Fence: the simulated machine is switched off. KWOK runs only Nodes labelled
   * `kwok.x-k8s.io/node=fake`; any other value stops it for good (that is also how the tests
   * simulate a dead kubelet), so the label is set to `off` and the machine is certainly down.
   */
  async fence(node: V1Node): Promise<FenceResult> {
    const name = node.metadata?.name ?? '';
    const current = await this.#read(name);
    if (!current || current.metadata?.uid !== node.metadata?.uid) {
      return { outcome: 'fenced', detail: `kwok: node ${name} is already gone` };
    }
    if (current.metadata?.labels?.[KWOK_NODE_LABEL] === KWOK_MANAGED_VALUE) {
      await kubeCall(`switch off the simulated machine of ${name}`, () =>
        this.#core.patchNode(
          { name, body: { metadata: { labels: { [KWOK_NODE_LABEL]: 'off' } } } },
          mergePatch,
        ),
      );
    }
    return { outcome: 'fenced', detail: `kwok: the simulated machine of ${name} is switched off` };
  }
}

/**
 * The `kwok` provider (the local simulated pool): no settings beyond its name; its pool label and
 * timeouts keep their defaults (KwokProviderOptions is for tests constructing it directly).
 */
export const kwokProvider = defineProvider({
  name: 'kwok',
  summary: 'creates a fresh KWOK Node for the pool, then deletes the old one (simulation only)',
  configSchema: null,
  create: (kubeConfig, { logger }) => new KwokProvider(kubeConfig, { logger }),
  rbac: [
    {
      apiGroup: '',
      resource: 'nodes',
      verbs: ['get', 'list', 'patch', 'delete'],
      why:
        'read the old node and wait for its replacement, list the pool for a free address, ' +
        'switch the simulated machine off (fence), delete the old Node',
    },
    {
      apiGroup: '',
      resource: 'nodes',
      verbs: ['create'],
      why: 'create the replacement Node object',
      chartValue: 'kwokProvider.enabled',
    },
  ],
});
