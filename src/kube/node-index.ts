// NodeIndex: resolves the host part of an alert's `instance` label (an IP or a hostname) to the
// name of a Kubernetes Node. Built, pure, from a list of Node-like objects; the caching watcher
// that keeps the list current lives elsewhere and rebuilds the index when Nodes change.

/** Resolves an IP address or hostname to a Node name; undefined when unknown or ambiguous. */
export interface NodeIndex {
  byAddress(host: string): string | undefined;
}

/** The parts of a Kubernetes `V1Node` the index reads (all optional, as in the client's type). */
export interface NodeLike {
  metadata?: { name?: string | undefined } | undefined;
  status?:
    | {
        addresses?:
          ReadonlyArray<{ type?: string | undefined; address?: string | undefined }> | undefined;
      }
    | undefined;
}

/** `status.addresses[].type` values the index uses (Kubernetes `NodeAddressType`). */
export const INDEXED_ADDRESS_TYPES: ReadonlySet<string> = new Set([
  'InternalIP',
  'ExternalIP',
  'Hostname',
  'InternalDNS',
  'ExternalDNS',
]);

/**
 * Canonical form of a host for comparison.
 *
 * - Surrounding whitespace and IPv6 brackets are removed.
 * - Letters are lowercased (DNS names and IPv6 are case-insensitive).
 * - A DNS name's trailing root dot is dropped (`node-1.example.` = `node-1.example`).
 * - IPv6 addresses are compressed the standard way (`fd00:0:0::1` = `fd00::1`).
 */
export function canonicalHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.includes(':')) {
    // IPv6: let the URL parser compress it; anything it rejects is compared as written.
    try {
      const hostname = new URL(`http://[${h}]/`).hostname;
      return hostname.slice(1, -1);
    } catch {
      return h;
    }
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * Builds a NodeIndex from Node-like objects.
 *
 * - A Node's own name resolves to itself, and wins over any address of another Node.
 * - Addresses of the types in `INDEXED_ADDRESS_TYPES` resolve to their Node; other types are
 *   ignored.
 * - An address claimed by two different Nodes resolves to nothing: nodeheal does not guess.
 * - Nodes without a name are skipped.
 */
export function buildNodeIndex(nodes: Iterable<NodeLike>): NodeIndex {
  const names = new Map<string, string>();
  const addresses = new Map<string, string | null>(); // null: ambiguous
  for (const node of nodes) {
    const name = node.metadata?.name;
    if (!name) continue;
    names.set(canonicalHost(name), name);
    for (const entry of node.status?.addresses ?? []) {
      if (!entry.type || !INDEXED_ADDRESS_TYPES.has(entry.type) || !entry.address) continue;
      const key = canonicalHost(entry.address);
      if (key === '') continue;
      const previous = addresses.get(key);
      if (previous === undefined) addresses.set(key, name);
      else if (previous !== name) addresses.set(key, null);
    }
  }
  return {
    byAddress(host: string): string | undefined {
      const key = canonicalHost(host);
      if (key === '') return undefined;
      return names.get(key) ?? addresses.get(key) ?? undefined;
    },
  };
}
