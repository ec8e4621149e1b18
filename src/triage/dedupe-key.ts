// The identity of a pending heal: one per (node, fault).

/**
 * The dedupe key of a heal: `heal:<node>:<fault>`, or `heal:<cluster>/<node>:<fault>` when
 * nodeheal serves one named cluster of several that share an Alertmanager (and maybe a Redis).
 * - Cluster names are DNS-1123 labels (checked where the name is configured): no `/` or `:`.
 *
 * - One pending or running heal per (node, fault): every alert that maps to the same fault on the
 *   same node shares the key, whatever its fingerprint.
 * - Alertmanager repeats (repeat_interval), regroupings (the same alert in another group or
 *   notification) and HA duplicates (the same fingerprint and startsAt sent by two
 *   Alertmanagers) therefore collapse into one key; the queue uses it as the job id.
 * - Node names are DNS-1123 subdomains and fault names kebab-case, so neither contains `:` and
 *   the key is unambiguous.
 */
export function dedupeKey(
  node: string,
  fault: string | { readonly name: string },
  cluster?: string,
): string {
  const where = cluster ? `${cluster}/${node}` : node;
  return `heal:${where}:${typeof fault === 'string' ? fault : fault.name}`;
}
