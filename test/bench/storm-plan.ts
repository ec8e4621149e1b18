// The alert storm of `npm run bench:storm`, planned before anything is sent: which nodes are in
// which pool, which alerts fire when and for how long. Pure (a seeded generator), so two runs
// with the same flags send the same storm.
//
// - Pools: one small "storm pool" of STORM_POOL_SIZE nodes, the rest in pools of POOL_SIZE.
// - Persistent alerts (5 %): PERSISTENT_PER_NODE alerts per sick node (one NodeKernelDeadlock
//   seen by an HA Prometheus pair through several exporters: distinct label sets, one fault),
//   the node's KernelDeadlock condition True until its heal ends. Sick nodes spread over the
//   ordinary pools at most STRAY_PER_POOL each (under the 20 % storm threshold), plus
//   STORM_POOL_SICK in the storm pool.
// - Transient alerts (95 %): fire and resolve inside the debounce, on nodes that are not sick,
//   over several faults, at most two episodes per node and fault (flap detection needs more than
//   four transitions). A "blip" of them in the storm pool also turns the nodes' NetworkUnavailable
//   condition True while they fire: the pool's unhealthy share crosses the threshold just when its
//   sick nodes' heals fall due, so storm mode holds them, and lets them go once the blip is over.
export const POOL_SIZE = 50;
export const STORM_POOL_SIZE = 10;
export const STORM_POOL = 'stormp';
export const PERSISTENT_PER_NODE = 10;
const STORM_POOL_SICK = 2;
const STRAY_PER_POOL = 3;
const BLIP_NODES = 5;
/** Alertmanager's group_interval (the stack's test timings: 2 s) and a margin for a loaded host. */
export const RESOLVE_MARGIN_MS = 8000;
const MIN_TRANSIENT_MS = 2000;

/** Alerts that fire and resolve, one per fault of the shipped catalog (fault: alertname). */
export const TRANSIENT_ALERTS: Record<string, string> = {
  'kubelet-down': 'NodeKubeletDown',
  'disk-almost-full': 'NodeFilesystemAlmostFull',
  'inodes-almost-full': 'NodeFilesystemInodesAlmostFull',
  'memory-pressure': 'NodeMemoryPressure',
  'readonly-filesystem': 'NodeReadonlyFilesystem',
  'node-not-ready': 'NodeNotReady',
  'network-unavailable': 'NodeNetworkUnavailable',
};
export const PERSISTENT_FAULT = 'kernel-deadlock';
export const PERSISTENT_ALERT = 'NodeKernelDeadlock';
export const BLIP_CONDITION = 'NetworkUnavailable';

export interface PlannedAlert {
  /** Alertmanager labels (alertname, node and the rest). */
  labels: Record<string, string>;
  node: string;
  kind: 'transient' | 'persistent';
  /** Milliseconds after the storm starts. */
  startMs: number;
  /** When it resolves; undefined: when the node's heal ends (persistent). */
  endMs?: number;
  /** A condition the node carries while the alert fires (the storm pool's blip). */
  condition?: string;
}

export interface StormPlan {
  pools: { name: string; size: number }[];
  nodes: string[];
  sick: string[];
  stormPoolSick: string[];
  blipNodes: string[];
  alerts: PlannedAlert[];
  /** When the storm pool's sick alerts start, and its blip. */
  stormPoolSickAtMs: number;
  blip: { startMs: number; endMs: number };
}

export interface PlanOptions {
  nodes: number;
  alerts: number;
  seconds: number;
  debounceMs: number;
  /** The longest a transient alert fires; default and most: the debounce less RESOLVE_MARGIN_MS. */
  transientMaxMs?: number;
  seed?: number;
}

/** mulberry32: a small seeded generator. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poolsFor(nodes: number): { name: string; size: number }[] {
  const pools = [{ name: STORM_POOL, size: STORM_POOL_SIZE }];
  for (let left = nodes - STORM_POOL_SIZE, i = 0; left > 0; left -= POOL_SIZE, i++) {
    pools.push({ name: `stp${i}`, size: Math.min(POOL_SIZE, left) });
  }
  return pools;
}

function persistentAlerts(node: string, startMs: number): PlannedAlert[] {
  return Array.from({ length: PERSISTENT_PER_NODE }, (_, i) => ({
    labels: {
      alertname: PERSISTENT_ALERT,
      node,
      condition: 'KernelDeadlock',
      status: 'true',
      severity: 'critical',
      prometheus_replica: `prometheus-${i % 2}`,
      instance: `npd-${Math.floor(i / 2)}`,
    },
    node,
    kind: 'persistent' as const,
    startMs,
  }));
}

export function planStorm(options: PlanOptions): StormPlan {
  const { seconds, debounceMs } = options;
  const windowMs = seconds * 1000;
  const longest = debounceMs - RESOLVE_MARGIN_MS;
  const maxTransientMs = Math.min(options.transientMaxMs ?? longest, longest);
  if (maxTransientMs < MIN_TRANSIENT_MS + 3000) {
    throw new Error(
      `--debounce must be at least ${(MIN_TRANSIENT_MS + 3000 + RESOLVE_MARGIN_MS) / 1000} and --transient-max at least ${(MIN_TRANSIENT_MS + 3000) / 1000}`,
    );
  }
  if (options.nodes < STORM_POOL_SIZE + POOL_SIZE) {
    throw new Error(`--nodes must be at least ${STORM_POOL_SIZE + POOL_SIZE}`);
  }
  const rand = random(options.seed ?? 16);
  const pools = poolsFor(options.nodes);
  const members = pools.map((p) => Array.from({ length: p.size }, (_, i) => `${p.name}-${i}`));
  const nodes = members.flat();
  const stormMembers = members[0]!;
  const persistentCount = Math.round(options.alerts * 0.05);
  const sickCount = Math.max(STORM_POOL_SICK, Math.round(persistentCount / PERSISTENT_PER_NODE));
  const stormPoolSick = stormMembers.slice(0, STORM_POOL_SICK);
  const blipNodes = stormMembers.slice(STORM_POOL_SICK, STORM_POOL_SICK + BLIP_NODES);
  // The stray sick nodes: round robin over the ordinary pools, STRAY_PER_POOL at most each.
  const stray: string[] = [];
  for (let k = 0; stray.length < sickCount - STORM_POOL_SICK; k++) {
    const pool = members[1 + (k % (members.length - 1))]!;
    const index = Math.floor(k / (members.length - 1));
    if (index >= STRAY_PER_POOL) throw new Error('too many persistent alerts for the node count');
    stray.push(pool[index]!);
  }
  const sick = [...stormPoolSick, ...stray];
  const alerts: PlannedAlert[] = [];
  // The storm pool's sick nodes fire a quarter into the window; the blip covers their due time.
  const stormPoolSickAtMs = Math.round(windowMs / 4);
  const blip = {
    startMs: stormPoolSickAtMs + debounceMs - 4000,
    endMs: stormPoolSickAtMs + debounceMs - 4000 + maxTransientMs,
  };
  for (const node of stormPoolSick) alerts.push(...persistentAlerts(node, stormPoolSickAtMs));
  stray.forEach((node, i) => {
    alerts.push(...persistentAlerts(node, Math.round(((i + 0.5) / stray.length) * windowMs * 0.8)));
  });
  for (const node of blipNodes) {
    alerts.push({
      labels: {
        alertname: TRANSIENT_ALERTS['network-unavailable']!,
        node,
        condition: BLIP_CONDITION,
        status: 'true',
        severity: 'warning',
      },
      node,
      kind: 'transient',
      startMs: blip.startMs,
      endMs: blip.endMs,
      condition: BLIP_CONDITION,
    });
  }
  // The rest: transient, spread evenly over the window, node by node and fault by fault, so that
  // the same node and fault come back at the earliest a seventh of the run later.
  const sickSet = new Set(sick);
  const healthy = nodes.filter((n) => !sickSet.has(n) && !blipNodes.includes(n));
  const names = Object.values(TRANSIENT_ALERTS);
  const transientCount = options.alerts - alerts.length;
  for (let i = 0; i < transientCount; i++) {
    const node = healthy[i % healthy.length]!;
    const round = Math.floor(i / healthy.length);
    const alertname = names[round % names.length]!;
    const startMs = Math.round((i / transientCount) * (windowMs - maxTransientMs));
    const duration = MIN_TRANSIENT_MS + rand() * (maxTransientMs - MIN_TRANSIENT_MS);
    alerts.push({
      labels: { alertname, node, severity: 'warning', episode: String(Math.floor(round / 7)) },
      node,
      kind: 'transient',
      startMs,
      endMs: Math.round(startMs + duration),
    });
  }
  alerts.sort((a, b) => a.startMs - b.startMs);
  return { pools, nodes, sick, stormPoolSick, blipNodes, alerts, stormPoolSickAtMs, blip };
}

/** Alerts per kind, for the report. */
export function planSummary(plan: StormPlan): string {
  const transient = plan.alerts.filter((a) => a.kind === 'transient').length;
  const persistent = plan.alerts.length - transient;
  return (
    `${plan.alerts.length} alerts: ${transient} transient, ${persistent} persistent on ` +
    `${plan.sick.length} sick nodes (${PERSISTENT_PER_NODE} each); ${plan.nodes.length} nodes in ` +
    `${plan.pools.length} pools (storm pool ${STORM_POOL}: ${STORM_POOL_SIZE} nodes, ` +
    `${plan.stormPoolSick.length} sick, a blip of ${plan.blipNodes.length})`
  );
}
