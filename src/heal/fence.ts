// When an unreachable node's workloads may be given away (pure). A node that does not answer may
// still be running behind a partition, its pods writing to their volumes: its pods are
// force-deleted and its volumes detached (the out-of-service taint, or deleting the Node) only
// after the node is fenced, certainly down.
import type { V1Node } from '@kubernetes/client-node';
import { z } from 'zod';

export const FENCE_METHODS = ['provider', 'self-fence', 'operator'] as const;
export type FenceMethod = (typeof FENCE_METHODS)[number];

/** How and when a node was fenced, as the heal record keeps it. */
export const fenceSchema = z.object({
  method: z.enum(FENCE_METHODS),
  /** The provider's name, `agent`, or the operator who confirmed. */
  by: z.string(),
  /** Epoch ms the fence was established. */
  at: z.number(),
  detail: z.string(),
});
export type Fence = z.infer<typeof fenceSchema>;

/**
 * An operator's confirmation that the node of a heal is down (admin API `POST
 * /heals/{id}/fence`), as the store keeps it: it holds for that heal only, so a later node that
 * takes the name is never covered by it.
 */
export const fenceConfirmationSchema = z.object({
  healId: z.string().min(1),
  by: z.string().min(1),
  at: z.number(),
  reason: z.string().max(500).default(''),
});
export type FenceConfirmation = z.infer<typeof fenceConfirmationSchema>;

/**
 * Whether nodeheal must fence the node before giving its workloads away.
 *
 * - The kubelet stopped reporting (Ready `Unknown`, or no Ready condition at all on a node that
 *   had one): the node may be running behind a partition.
 * - Ready `True` or `False`: the kubelet answers; it stops the pods it is told to, and the
 *   drain's evictions complete on their own.
 */
export function needsFence(node: V1Node): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'Unknown';
}

export interface FenceInputs {
  /** Operator confirmation for this node, if any. */
  confirmation: FenceConfirmation | undefined;
  /** The heal asking (a confirmation given for another heal does not count). */
  healId: string;
  /** Self-fence settings of the node's pool, when the pool opted in. */
  selfFence: { safeTimeSeconds: number } | undefined;
  /** When the node was last heard from (lease renewal or heartbeat), epoch ms. */
  lastHeardAt: number | undefined;
  /** Whether nodeheal can reach the node's agent right now. */
  agentReachable: boolean;
  /**
   * Since when nodeheal has found the agent unreachable (its first failed probe in this wait):
   * the agent may have had contact until then, so its self-fence clock cannot have started
   * earlier. Undefined when unknown.
   */
  agentMissedSince?: number | undefined;
}

export type FenceDecision =
  { kind: 'fenced'; fence: Fence } | { kind: 'wait'; until: number | undefined; detail: string };

/**
 * The fence nodeheal may rely on without a provider's (pure; `now` in epoch ms).
 *
 * - An operator's confirmation for this heal is a fence, at once.
 * - Self-fence (pools that opted in): the node's agent reboots its own node when it reaches
 *   neither the apiserver nor a peer for a while; once `safeTimeSeconds` have passed since the
 *   node was last heard from, the node has rebooted, so it is fenced, provided nodeheal cannot
 *   reach the agent either (an agent that answers is on a running node: no fence).
 * - "Last heard from" is the later of the kubelet's last Lease renewal and nodeheal's first
 *   failed probe of the agent: a kubelet may die long before its node loses the network, and
 *   the agent's clock starts only when the agent loses its contacts.
 * - Otherwise: wait, and say what for (`until` is when the self-fence will hold, if it will).
 */
export function fenceWithoutProvider(input: FenceInputs, now: number): FenceDecision {
  const { confirmation } = input;
  if (confirmation?.healId === input.healId) {
    return {
      kind: 'fenced',
      fence: {
        method: 'operator',
        by: confirmation.by,
        at: confirmation.at,
        detail: `${confirmation.by} confirmed the node is down${confirmation.reason ? `: ${confirmation.reason}` : ''}`,
      },
    };
  }
  if (input.selfFence) {
    if (input.agentReachable) {
      return {
        kind: 'wait',
        until: undefined,
        detail:
          'the node agent still answers, so the node runs and will not fence itself; confirm ' +
          'the node is down (POST /heals/<id>/fence) or let a remedy bring it back',
      };
    }
    if (input.lastHeardAt === undefined) {
      return {
        kind: 'wait',
        until: undefined,
        detail: 'no record of when the node was last heard from; confirm the node is down',
      };
    }
    const heard = Math.max(input.lastHeardAt, input.agentMissedSince ?? input.lastHeardAt);
    const safeAt = heard + input.selfFence.safeTimeSeconds * 1000;
    if (now >= safeAt) {
      return {
        kind: 'fenced',
        fence: {
          method: 'self-fence',
          by: 'agent',
          at: safeAt,
          detail:
            `last heard at ${new Date(heard).toISOString()}; its agent reboots it ` +
            `within ${input.selfFence.safeTimeSeconds} s of losing the apiserver and its peers`,
        },
      };
    }
    return {
      kind: 'wait',
      until: safeAt,
      detail: `the node's agent fences it by ${new Date(safeAt).toISOString()} (self-fence safe time)`,
    };
  }
  return {
    kind: 'wait',
    until: undefined,
    detail:
      'no provider of this pool can terminate the machine and the pool has no self-fence: ' +
      'confirm the node is down (POST /heals/<id>/fence) to let its workloads move',
  };
}
