// nodeheal's metrics: one private prom-client registry, `nodeheal_` prefix, names from DESIGN.md.
// Code updates them only through the observe* helpers below, so names and labels stay in one file.
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** nodeheal's version, from its package.json (next to src/ in the image); 'unknown' without it. */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * What every nodeheal registry carries: prom-client's default process and Node.js metrics under
 * their standard names (`process_*`, `nodejs_*`, as Node.js dashboards expect),
 * `nodeheal_build_info{version,nodejs_version} 1`, and `nodeheal_public_url_info{url} 1` when
 * NODEHEAL_PUBLIC_URL is set (alert annotations link to the status pages through it).
 */
export function registerProcessMetrics(registry: Registry, publicUrl?: string): void {
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'nodeheal_build_info',
    help: 'Always 1: the nodeheal version and the Node.js version running it.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  }).set({ version: packageVersion(), nodejs_version: process.version }, 1);
  if (publicUrl) {
    new Gauge({
      name: 'nodeheal_public_url_info',
      help: 'Always 1: where the status pages are (NODEHEAL_PUBLIC_URL); alert annotations link through it.',
      labelNames: ['url'],
      registers: [registry],
    }).set({ url: publicUrl.replace(/\/+$/, '') }, 1);
  }
}

export interface Metrics {
  registry: Registry;
  alertsReceived: Counter<'status'>;
  alertsIgnored: Counter<'reason'>;
  triageDecisions: Counter<'decision' | 'reason'>;
  faultsFlapping: Counter<'fault'>;
  webhookRequests: Counter<'code'>;
  queueJobs: Gauge<'state'>;
  queueDueBacklog: Gauge;
}

export function createMetrics(publicUrl?: string): Metrics {
  const registry = new Registry();
  registerProcessMetrics(registry, publicUrl);
  return {
    registry,
    alertsReceived: new Counter({
      name: 'nodeheal_alerts_received_total',
      help: 'Alerts received from Alertmanager, by alert status (firing, resolved).',
      labelNames: ['status'],
      registers: [registry],
    }),
    alertsIgnored: new Counter({
      name: 'nodeheal_alerts_ignored_total',
      help: 'Alerts acknowledged but not acted on, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    triageDecisions: new Counter({
      name: 'nodeheal_triage_decisions_total',
      help: 'Triage decisions taken on received alerts, by decision and reason.',
      labelNames: ['decision', 'reason'],
      registers: [registry],
    }),
    faultsFlapping: new Counter({
      name: 'nodeheal_alerts_flapping_total',
      help: 'Firing alerts whose fault was flapping, so that its heal was held longer.',
      labelNames: ['fault'],
      registers: [registry],
    }),
    webhookRequests: new Counter({
      name: 'nodeheal_webhook_requests_total',
      help: 'Webhook requests answered, by HTTP status code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'nodeheal_queue_jobs',
      help: 'Heal jobs in the queue, by state (read from Redis at scrape time).',
      labelNames: ['state'],
      registers: [registry],
    }),
    queueDueBacklog: new Gauge({
      name: 'nodeheal_queue_due_backlog_seconds',
      help: 'How long the oldest heal job that is due has waited for a worker to take it; 0 when none waits (read from Redis at scrape time).',
      registers: [registry],
    }),
  };
}

export function observeAlertReceived(m: Metrics, status: string, count = 1): void {
  m.alertsReceived.inc({ status }, count);
}

export function observeAlertIgnored(m: Metrics, reason: string, count = 1): void {
  m.alertsIgnored.inc({ reason }, count);
}

export function observeTriageDecision(
  m: Metrics,
  decision: string,
  reason: string,
  count = 1,
): void {
  m.triageDecisions.inc({ decision, reason }, count);
}

export function observeFlapping(m: Metrics, fault: string, count = 1): void {
  m.faultsFlapping.inc({ fault }, count);
}

export function observeWebhookResponse(m: Metrics, code: number): void {
  m.webhookRequests.inc({ code: String(code) });
}

export function observeQueueJobs(m: Metrics, counts: Record<string, number>): void {
  for (const [state, count] of Object.entries(counts)) m.queueJobs.set({ state }, count);
}

export function observeQueueDueBacklog(m: Metrics, seconds: number): void {
  m.queueDueBacklog.set(Math.max(0, seconds));
}

/** Heal worker metrics (DESIGN.md names). */
export interface HealMetrics {
  registry: Registry;
  healsStarted: Counter<'fault'>;
  healsFinished: Counter<'fault' | 'outcome'>;
  remedyAttempts: Counter<'remedy' | 'result'>;
  healDuration: Histogram;
  timeToHeal: Histogram;
  safetyBlocked: Counter<'gate'>;
  stormActive: Gauge;
  notifications: Counter<'sink' | 'result'>;
  healStepStart: Gauge<HealStepLabel>;
  healStage: Histogram<'stage'>;
  /** The label set of each running heal's `healStepStart` series, by heal id. */
  healSteps: Map<string, Record<HealStepLabel, string>>;
  healsInProgress: Gauge<'node' | 'fault'>;
  healsAbandoned: Gauge<'node' | 'fault'>;
  healsAwaitingApproval: Gauge<'node' | 'fault'>;
  replacementsNotReady: Counter<'pool'>;
  agentUnreachable: Counter<'command'>;
  podsEvicted: Counter<'kind'>;
}

/** A heal of a node, as the per-node gauges show it. */
export interface NodeHeal {
  node: string;
  fault: string;
}

type HealStepLabel = 'node' | 'fault' | 'heal_id' | 'step' | 'action' | 'state' | 'gate';

/** The step a running heal is on, for `nodeheal_heal_step_start_time_seconds`. */
export interface HealStepSeries {
  node: string;
  fault: string;
  /** Index of the step in the heal's ladder. */
  step: number;
  action: string;
  /** pending, acting, verifying, or held (a safety gate holds the step). */
  state: string;
  /** The gate that holds the step; empty when none. */
  gate: string;
  /** When the heal reached the step, or when the step began acting (epoch milliseconds). */
  startedAt: number;
}

/** Stages of a heal's time (`nodeheal_heal_stage_seconds{stage}`). */
export const HEAL_STAGES = [
  'detection',
  'debounce',
  'queued',
  'gates',
  'acting',
  'verification',
] as const;
export type HealStage = (typeof HEAL_STAGES)[number];

const healBuckets = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
const stageBuckets = [1, 5, ...healBuckets];

/**
 * The worker's metrics. Without a `registry` it makes its own, with the process metrics and
 * `nodeheal_build_info` (`registerProcessMetrics`).
 */
export function createHealMetrics(registry?: Registry, publicUrl?: string): HealMetrics {
  if (!registry) {
    registry = new Registry();
    registerProcessMetrics(registry, publicUrl);
  }
  return {
    registry,
    healsStarted: new Counter({
      name: 'nodeheal_heals_started_total',
      help: 'Heals started, by fault.',
      labelNames: ['fault'],
      registers: [registry],
    }),
    healsFinished: new Counter({
      name: 'nodeheal_heals_finished_total',
      help: 'Heals finished, by fault and outcome (healed, abandoned, cancelled, skipped: refused by a safety gate before it acted, never counted as started).',
      labelNames: ['fault', 'outcome'],
      registers: [registry],
    }),
    remedyAttempts: new Counter({
      name: 'nodeheal_remedy_attempts_total',
      help: 'Ladder steps that acted, by remedy and result (success: the fault resolved in its window).',
      labelNames: ['remedy', 'result'],
      registers: [registry],
    }),
    healDuration: new Histogram({
      name: 'nodeheal_heal_duration_seconds',
      help: 'From heal start to its end.',
      buckets: healBuckets,
      registers: [registry],
    }),
    timeToHeal: new Histogram({
      name: 'nodeheal_time_to_heal_seconds',
      help: 'From the fault starting (alert startsAt) to the node seen healthy.',
      buckets: healBuckets,
      registers: [registry],
    }),
    safetyBlocked: new Counter({
      name: 'nodeheal_safety_blocked_total',
      help: 'Heals or steps held back by a safety gate, by gate.',
      labelNames: ['gate'],
      registers: [registry],
    }),
    stormActive: new Gauge({
      name: 'nodeheal_storm_active',
      help: '1 while any node pool is in storm mode (too many unhealthy nodes: no new heals).',
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'nodeheal_notifications_total',
      help: 'Heal notifications (NODEHEAL_NOTIFY_SINKS) by sink name and result: delivered, failed (attempts used up or refused), dropped (queue full or worker stopping).',
      labelNames: ['sink', 'result'],
      registers: [registry],
    }),
    healStepStart: new Gauge({
      name: 'nodeheal_heal_step_start_time_seconds',
      help: 'One series per heal this worker runs: the Unix time its current step was reached (or began acting), labelled with the node, fault, heal id, step index, action, state (pending, acting, verifying, held) and holding gate; removed when the heal ends.',
      labelNames: ['node', 'fault', 'heal_id', 'step', 'action', 'state', 'gate'],
      registers: [registry],
    }),
    healStage: new Histogram({
      name: 'nodeheal_heal_stage_seconds',
      help: 'Time an ended heal (not skipped) spent per stage, as its status page splits it: detection (alert start to nodeheal receiving it), debounce (to due), queued (due to started: a free worker, gates deferring it), gates (steps held by a safety gate), acting, verification.',
      labelNames: ['stage'],
      buckets: stageBuckets,
      registers: [registry],
    }),
    healSteps: new Map(),
    healsInProgress: new Gauge({
      name: 'nodeheal_heals_in_progress',
      help: '1 per node a heal is acting on (it holds a budget slot), by node and fault; read from Redis at scrape time, gone when the heal ends.',
      labelNames: ['node', 'fault'],
      registers: [registry],
    }),
    healsAbandoned: new Gauge({
      name: 'nodeheal_heals_abandoned',
      help: '1 per existing node whose latest heal was abandoned and nobody has dealt with it yet (its cordon still on, no newer heal), by node and fault; read at scrape time.',
      labelNames: ['node', 'fault'],
      registers: [registry],
    }),
    healsAwaitingApproval: new Gauge({
      name: 'nodeheal_heals_awaiting_approval',
      help: '1 per node whose heal waits for an operator to approve a disruptive step that would cause an outage (approval: outage), by node and fault; read at scrape time.',
      labelNames: ['node', 'fault'],
      registers: [registry],
    }),
    replacementsNotReady: new Counter({
      name: 'nodeheal_replacements_not_ready_total',
      help: 'Heals abandoned because the capacity a replace step removed was not back (the replacement not Ready) within the node startup timeout, by pool.',
      labelNames: ['pool'],
      registers: [registry],
    }),
    agentUnreachable: new Counter({
      name: 'nodeheal_agent_unreachable_total',
      help: 'Host commands (remedies) not sent because the node agent did not answer, by command.',
      labelNames: ['command'],
      registers: [registry],
    }),
    podsEvicted: new Counter({
      name: 'nodeheal_pods_evicted_total',
      help: 'Pods evicted by drains, by kind as the heal worked out before it acted: replicated, single-replica, unmanaged, other (controllers of other kinds); local-data counts those of them with emptyDir or local PV data too.',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

export function observeHealStarted(m: HealMetrics, fault: string): void {
  m.healsStarted.inc({ fault });
}

export function observeHealFinished(
  m: HealMetrics,
  fault: string,
  outcome: string,
  durationSeconds: number,
  timeToHealSeconds?: number,
): void {
  m.healsFinished.inc({ fault, outcome });
  // A skipped heal never started: it has no duration worth a bucket.
  if (outcome !== 'skipped') m.healDuration.observe(durationSeconds);
  if (timeToHealSeconds !== undefined) m.timeToHeal.observe(timeToHealSeconds);
}

export function observeRemedyAttempt(m: HealMetrics, remedy: string, result: string): void {
  m.remedyAttempts.inc({ remedy, result });
}

export function observeSafetyBlocked(m: HealMetrics, gate: string): void {
  m.safetyBlocked.inc({ gate });
}

export function observeStorm(m: HealMetrics, active: boolean): void {
  m.stormActive.set(active ? 1 : 0);
}

export function observeNotification(m: HealMetrics, sink: string, result: string, count = 1): void {
  m.notifications.inc({ sink, result }, count);
}

/** Sets the step series of heal `healId` (replacing its previous one), or removes it (`null`). */
export function observeHealStep(m: HealMetrics, healId: string, step: HealStepSeries | null): void {
  const previous = m.healSteps.get(healId);
  if (step === null) {
    if (previous) m.healStepStart.remove(previous);
    m.healSteps.delete(healId);
    return;
  }
  const labels: Record<HealStepLabel, string> = {
    node: step.node,
    fault: step.fault,
    heal_id: healId,
    step: String(step.step),
    action: step.action,
    state: step.state,
    gate: step.gate,
  };
  const same = (Object.keys(labels) as HealStepLabel[]).every((k) => previous?.[k] === labels[k]);
  if (previous && !same) m.healStepStart.remove(previous);
  m.healSteps.set(healId, labels);
  m.healStepStart.set(labels, step.startedAt / 1000);
}

/** Observes each stage of an ended heal, in seconds. */
export function observeHealStages(
  m: HealMetrics,
  seconds: Readonly<Record<HealStage, number>>,
): void {
  for (const stage of HEAL_STAGES) m.healStage.observe({ stage }, Math.max(0, seconds[stage]));
}

/** Sets a per-node gauge to exactly `heals` (1 each): series of nodes no longer in it go. */
function setNodeHeals(gauge: Gauge<'node' | 'fault'>, heals: readonly NodeHeal[]): void {
  gauge.reset();
  for (const h of heals) gauge.set({ node: h.node, fault: h.fault }, 1);
}

export function observeHealsInProgress(m: HealMetrics, heals: readonly NodeHeal[]): void {
  setNodeHeals(m.healsInProgress, heals);
}

export function observeHealsAbandoned(m: HealMetrics, heals: readonly NodeHeal[]): void {
  setNodeHeals(m.healsAbandoned, heals);
}

export function observeHealsAwaitingApproval(m: HealMetrics, heals: readonly NodeHeal[]): void {
  setNodeHeals(m.healsAwaitingApproval, heals);
}

export function observeReplacementNotReady(m: HealMetrics, pool: string): void {
  m.replacementsNotReady.inc({ pool });
}

export function observeAgentUnreachable(m: HealMetrics, command: string): void {
  m.agentUnreachable.inc({ command });
}

/** Pods a drain evicted, per kind (`evictedByKind` of the heal's cost). */
export function observePodsEvicted(m: HealMetrics, counts: Readonly<Record<string, number>>): void {
  for (const [kind, n] of Object.entries(counts)) m.podsEvicted.inc({ kind }, n);
}
export { faultConfirmationsCounter } from './fault-confirmations.ts';
export { leaseLostCounter } from './lease-lost.ts';
