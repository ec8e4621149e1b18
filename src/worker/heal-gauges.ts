// Per-node heal gauges, read from Redis when scraped: every worker replica shows the same
// values, and they survive a worker restart (alert rules aggregate with max by (node, fault)).
//
// - In progress: a heal that holds a budget slot (it acts on its node, or waits between steps).
//   A heal deferred by a gate before its first act holds none: nobody works on the node then.
// - Abandoned: an existing Node whose newest heal ended `abandoned`, until someone dealt with it:
//   a newer heal starts, the Node is deleted, or, when that heal cordoned it, it is uncordoned
//   (nodeheal leaves its cordon on an abandoned node: giving the node back is a human's call);
//   when the heal did not cordon it, once the fault's alerts have all resolved.
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type { HealRecord } from '../heal/index.ts';
import { readBudget, readHistory, type HealStore } from '../store/index.ts';

export interface NodeHeal {
  node: string;
  fault: string;
}

export interface HealGaugeDeps {
  redis: Redis;
  store: Pick<HealStore, 'get' | 'list'>;
  /** The Nodes that exist now (the worker's watched cache). */
  nodes: () => Promise<V1Node[]>;
}

/** The running heals that hold a budget slot. */
async function runningWithSlot(deps: HealGaugeDeps): Promise<HealRecord[]> {
  const budget = await readBudget(deps.redis);
  const records = await Promise.all(
    (budget?.inFlight ?? []).map((slot) => deps.store.get(slot.healId)),
  );
  return records.filter((r): r is HealRecord => r?.status === 'running');
}

/** Heals holding a budget slot, with their fault. */
export async function healsInProgress(deps: HealGaugeDeps): Promise<NodeHeal[]> {
  return (await runningWithSlot(deps)).map((r) => ({ node: r.node, fault: r.fault }));
}

/**
 * Heals whose step waits for an operator's approval (gate `approval`). Such a heal started, so
 * it holds a budget slot (approval is asked when a disruptive step is about to act).
 */
export async function healsAwaitingApproval(deps: HealGaugeDeps): Promise<NodeHeal[]> {
  return (await runningWithSlot(deps))
    .filter((r) => r.gate === 'approval')
    .map((r) => ({ node: r.node, fault: r.fault }));
}

/** Whether an abandoned heal still needs a human (see the file's comment). */
export function abandonedStillOpen(record: HealRecord, node: V1Node): boolean {
  if (record.status !== 'abandoned' || record.dryRun) return false;
  // Its cordon lifted: someone took the node back (or it was healed by hand).
  if (record.cordonedByUs && !node.spec?.unschedulable) return false;
  // A Node created under the same name after the heal ended is another machine.
  const stamp = node.metadata?.creationTimestamp;
  const created = stamp === undefined ? Number.NaN : new Date(stamp).getTime();
  return !(Number.isFinite(created) && record.endedAt !== null && created > record.endedAt);
}

/** Existing Nodes whose newest heal was abandoned and is still open. */
export async function healsAbandoned(deps: HealGaugeDeps): Promise<NodeHeal[]> {
  const nodes = await deps.nodes();
  const found = await Promise.all(
    nodes.map(async (node) => {
      const name = node.metadata?.name;
      if (!name) return undefined;
      const [newest] = await deps.store.list({ node: name, limit: 1 });
      if (!newest || !abandonedStillOpen(newest, node)) return undefined;
      if (!newest.cordonedByUs) {
        // Nothing of nodeheal's left on the node: open while the fault still fires (the triage
        // history of its key; none left means no alert for a week).
        const history = await readHistory(deps.redis, newest.key);
        if (!history || history.active.length === 0) return undefined;
      }
      return { node: name, fault: newest.fault };
    }),
  );
  return found.filter((h): h is NodeHeal => h !== undefined);
}
