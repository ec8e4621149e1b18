// Normalisation: the alerts a source delivered (any source: they are source-neutral by now)
// become NodeAlert[] (each tied to one Kubernetes Node) plus the alerts that could not be tied
// to a Node and why. Pure: the NodeIndex is a snapshot passed in. Label values are data only:
// they are validated, copied and hashed, never interpreted.
import { createHash } from 'node:crypto';
import type { NodeIndex } from '../kube/index.ts';
import { isDns1123Subdomain, type NodeAlert, type ReceivedAlert } from '../triage/index.ts';

/**
 * Why an alert is not triaged: no node to tie it to, not this cluster's, or an alert the catalog
 * leaves alone on purpose (`left_alone`: cluster-wide, or a human's call).
 */
export type IgnoreReason =
  'no_node' | 'invalid_node' | 'other_cluster' | 'no_cluster' | 'left_alone';

/**
 * The one cluster this nodeheal serves (NODEHEAL_CLUSTER), when a central Alertmanager sends it
 * the alerts of several: the label that names an alert's cluster and the value that is ours.
 */
export interface ClusterScope {
  name: string;
  label: string;
}

export interface IgnoredAlert {
  alertname: string;
  reason: IgnoreReason;
  detail: string;
}

export interface NormaliseResult {
  alerts: NodeAlert[];
  ignored: IgnoredAlert[];
}

/** Labels that name the Node directly, in priority order. */
export const NODE_LABELS = ['node', 'kubernetes_node', 'nodename'] as const;

/**
 * The host part of a Prometheus `instance` label, or undefined when there is none.
 *
 * - `10.0.0.5:9100` -> `10.0.0.5`; `host.example:9100` -> `host.example`.
 * - `[fd00::1]:9100` and `[fd00::1]` -> `fd00::1`; a bare IPv6 address is kept whole.
 * - `https://host.example:8443/path` -> `host.example` (blackbox-style instances).
 * - A port that is not 1-5 digits is not a port: the value is returned as written, and will not
 *   resolve.
 */
export function instanceHost(instance: string): string | undefined {
  let value = instance.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (scheme) {
    value = value.slice(scheme[0].length);
    value = value.split(/[/?#]/, 1)[0] ?? '';
    const at = value.lastIndexOf('@');
    if (at >= 0) value = value.slice(at + 1);
  }
  if (value.startsWith('[')) {
    const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
    return bracketed ? bracketed[1] : undefined;
  }
  const colons = value.split(':').length - 1;
  if (colons === 1) {
    const hostPort = /^([^:]+):\d{1,5}$/.exec(value);
    if (hostPort) value = hostPort[1] ?? '';
  }
  return value === '' ? undefined : value;
}

type NodeResolution =
  { ok: true; node: string } | { ok: false; reason: IgnoreReason; detail: string };

/** A label value made safe to show in a log line: quoted, escaped, shortened. */
function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * Which Node an alert is about.
 *
 * - The first non-empty label of `node`, `kubernetes_node`, `nodename` decides; later labels
 *   (and `instance`) are not consulted, even when it is invalid.
 * - That value must be a DNS-1123 subdomain, else `invalid_node`. If the NodeIndex knows it as a
 *   name or address (e.g. a `nodename` that is a Node's Hostname), the indexed Node name is used;
 *   otherwise the value itself is trusted as the Node name.
 * - Without those labels, `instance` is used: its host (port stripped) must resolve through the
 *   NodeIndex. An instance the index does not know is never trusted, however much it looks like a
 *   Node name: `no_node`.
 * - None of these labels: `no_node`.
 */
export function resolveNode(
  labels: Readonly<Record<string, string>>,
  index: NodeIndex,
): NodeResolution {
  for (const key of NODE_LABELS) {
    const value = labels[key];
    if (value === undefined || value === '') continue;
    if (!isDns1123Subdomain(value)) {
      return {
        ok: false,
        reason: 'invalid_node',
        detail: `label ${key}=${show(value)} is not a valid Kubernetes node name`,
      };
    }
    return { ok: true, node: index.byAddress(value) ?? value };
  }
  const instance = labels.instance;
  if (instance !== undefined && instance !== '') {
    const host = instanceHost(instance);
    const node = host === undefined ? undefined : index.byAddress(host);
    if (node === undefined) {
      return {
        ok: false,
        reason: 'no_node',
        detail: `label instance=${show(instance)} matches no known node`,
      };
    }
    if (!isDns1123Subdomain(node)) {
      return {
        ok: false,
        reason: 'invalid_node',
        detail: `label instance=${show(instance)} resolved to an invalid node name ${show(node)}`,
      };
    }
    return { ok: true, node };
  }
  return {
    ok: false,
    reason: 'no_node',
    detail: `no ${[...NODE_LABELS, 'instance'].join('/')} label`,
  };
}

/**
 * Stable fingerprint of a label set when Alertmanager sent none: sha256 over the labels sorted by
 * name, as hex, first 16 characters (the length of Alertmanager's own fingerprints). Independent
 * of the order the labels arrived in.
 */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((name) => [name, labels[name]]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 16);
}

/**
 * Whether an alert is about the cluster this nodeheal serves (pure).
 *
 * - No scope configured: every alert is ours.
 * - The alert's `scope.label` equals `scope.name`: ours.
 * - Another value: `other_cluster`; no such label: `no_cluster` (an alert that does not say its
 *   cluster could be any cluster's node of the same name: never acted on).
 */
export function clusterCheck(
  labels: Readonly<Record<string, string>>,
  scope: ClusterScope | undefined,
): { ok: true } | { ok: false; reason: IgnoreReason; detail: string } {
  if (!scope) return { ok: true };
  const value = labels[scope.label];
  if (value === undefined || value === '') {
    return {
      ok: false,
      reason: 'no_cluster',
      detail: `no ${scope.label} label: this nodeheal serves cluster ${show(scope.name)} only`,
    };
  }
  if (value !== scope.name) {
    return {
      ok: false,
      reason: 'other_cluster',
      detail: `${scope.label}=${show(value)}: this nodeheal serves cluster ${show(scope.name)}`,
    };
  }
  return { ok: true };
}

function toNodeAlert(alert: ReceivedAlert, node: string, cluster?: string): NodeAlert {
  const labels = { ...alert.labels };
  const result: NodeAlert = {
    node,
    alertname: labels.alertname ?? '',
    status: alert.status,
    labels,
    annotations: { ...alert.annotations },
    startsAt: alert.startsAt,
    fingerprint: alert.fingerprint ? alert.fingerprint : labelsFingerprint(labels),
  };
  if (cluster !== undefined) result.cluster = cluster;
  if (alert.endsAt !== undefined) result.endsAt = alert.endsAt;
  if (alert.generatorURL !== undefined) result.generatorURL = alert.generatorURL;
  if (alert.sourceURL !== undefined) result.sourceURL = alert.sourceURL;
  return result;
}

/**
 * Turns the alerts a source delivered into NodeAlerts.
 *
 * - Each alert keeps its status, labels and annotations (copied).
 * - The Node comes from `resolveNode` (labels `node`, `kubernetes_node`, `nodename`, then
 *   `instance` through the index); alerts without a Node are listed in `ignored` with the reason.
 * - `fingerprint` is the source's when present and non-empty, else `labelsFingerprint(labels)`.
 * - With a cluster scope, alerts of other clusters (or of none) are ignored first
 *   (`clusterCheck`), and the others carry the cluster (it becomes part of their dedupe key).
 * - Order is preserved.
 */
export function normaliseAlerts(
  received: readonly ReceivedAlert[],
  index: NodeIndex,
  scope?: ClusterScope,
): NormaliseResult {
  const alerts: NodeAlert[] = [];
  const ignored: IgnoredAlert[] = [];
  for (const alert of received) {
    const inScope = clusterCheck(alert.labels, scope);
    if (!inScope.ok) {
      ignored.push({
        alertname: alert.labels.alertname ?? '',
        reason: inScope.reason,
        detail: inScope.detail,
      });
      continue;
    }
    const resolution = resolveNode(alert.labels, index);
    if (resolution.ok) alerts.push(toNodeAlert(alert, resolution.node, scope?.name));
    else {
      ignored.push({
        alertname: alert.labels.alertname ?? '',
        reason: resolution.reason,
        detail: resolution.detail,
      });
    }
  }
  return { alerts, ignored };
}
