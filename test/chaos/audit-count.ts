// The side effects nodeheal asked the apiserver for, read from the apiserver's audit log of
// nodeheal's ServiceAccounts (test/stack/audit.ts): what really reached the cluster, whatever
// nodeheal's own records say.
import { readAuditLog, type AuditedRequest } from '../stack/audit.ts';

const ok = (r: AuditedRequest) => r.code >= 200 && r.code < 300;

export interface NodeSideEffects {
  /** Pod name → evictions of it the apiserver granted (2xx). */
  evictedPods: Map<string, number>;
  /** Replacement Nodes created (2xx) in the pool. */
  creates: number;
  /** The old Node deleted (2xx). */
  deletes: number;
  /** Every create and delete of a Node of the pool asked, whatever the answer (409, 404...). */
  attempts: number;
}

/**
 * What nodeheal did about `node` of `pool`: evictions of pods in `namespace`, replacement Nodes
 * (named `<pool>-r-…` by the KWOK provider) created, and `node` deleted.
 */
export function sideEffects(
  auditLog: string,
  namespace: string,
  pool: string,
  node: string,
): NodeSideEffects {
  const evictedPods = new Map<string, number>();
  let creates = 0;
  let deletes = 0;
  let attempts = 0;
  for (const r of readAuditLog(auditLog)) {
    if (r.verb === 'create' && r.resource === 'pods/eviction' && r.namespace === namespace) {
      if (ok(r)) evictedPods.set(r.name, (evictedPods.get(r.name) ?? 0) + 1);
    }
    if (r.resource !== 'nodes') continue;
    // A create's entry is named from the object in its body (the apiserver completes objectRef).
    if (r.verb === 'create' && r.name.startsWith(`${pool}-r-`)) {
      attempts++;
      if (ok(r)) creates++;
    }
    if (r.verb === 'delete' && r.name === node) {
      attempts++;
      if (ok(r)) deletes++;
    }
  }
  return { evictedPods, creates, deletes, attempts };
}
