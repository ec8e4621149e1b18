// What nodeheal asked the apiserver for during one heal, from the stack's audit log of nodeheal's
// ServiceAccounts (test/stack/audit.ts): requests per verb and resource, and any cluster-wide
// list or watch of Nodes or Pods (no namespace, no label or field selector), which would make a
// heal's cost grow with the cluster instead of with the node. Used by `npm run bench:scale`.
import { readAuditLog, type AuditedRequest } from '../stack/audit.ts';

export interface HealRequests {
  total: number;
  /** `verb resource` → count, most first. */
  byKind: [string, number][];
  /** Requests that read every Node or every Pod of the cluster. */
  clusterWide: string[];
}

function unselected(uri: string): boolean {
  const query = new URL(uri, 'https://apiserver').searchParams;
  return !query.get('labelSelector') && !query.get('fieldSelector');
}

/** A list or watch of every Node or every Pod in the cluster. */
export function isClusterWide(r: AuditedRequest): boolean {
  if (r.verb !== 'list' && r.verb !== 'watch') return false;
  if (r.resource === 'nodes') return unselected(r.uri);
  if (r.resource === 'pods') return r.namespace === '' && unselected(r.uri);
  return false;
}

/** nodeheal's requests received between `from` and `to` (ms since the epoch). */
export function requestsBetween(auditLog: string, from: number, to: number): HealRequests {
  const requests = readAuditLog(auditLog).filter((r) => {
    const at = Date.parse(r.at);
    return at >= from && at <= to;
  });
  const counts = new Map<string, number>();
  for (const r of requests) {
    const key = `${r.verb} ${r.resource}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    total: requests.length,
    byKind: [...counts].sort((a, b) => b[1] - a[1]),
    clusterWide: requests.filter(isClusterWide).map((r) => `${r.verb} ${r.uri}`),
  };
}

export function requestsLine(r: HealRequests): string {
  return `${r.total} requests (${r.byKind.map(([k, n]) => `${n} ${k}`).join(', ')}); cluster-wide lists of nodes or pods: ${r.clusterWide.length === 0 ? 'none' : r.clusterWide.join('; ')}`;
}
