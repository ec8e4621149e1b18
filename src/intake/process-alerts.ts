// From one delivery of any alert source (normalised by the source) to recorded decisions and
// queue operations. Idempotent: a retry, repeat or HA duplicate of the same delivery changes
// nothing more, and the same fault delivered by two sources is one heal (same dedupe key).
import type { Logger } from '../log/index.ts';
import {
  observeAlertIgnored,
  observeAlertReceived,
  observeFlapping,
  observeTriageDecision,
  type Metrics,
} from '../metrics/index.ts';
import {
  HEAL_JOB_VERSION,
  carriedUrl,
  shownAnnotations,
  type HealJob,
  type HealScheduler,
} from '../queue/index.ts';
import { leftAlone, matchFault, type Catalog, type Fault } from '../rules/index.ts';
import {
  applyAlert,
  dedupeKey,
  isoTime,
  type FaultHistory,
  type NodeAlert,
  type TriageDecision,
} from '../triage/index.ts';
import type { ReceivedBatch } from '../sources/index.ts';
import type { AlertRecord, IntakeStore } from '../store/index.ts';
import type { NodeIndex } from '../kube/index.ts';
import { normaliseAlerts, type ClusterScope } from './normalise.ts';

export interface IntakeDeps {
  store: IntakeStore;
  scheduler: HealScheduler;
  catalog: () => Catalog;
  nodeIndex: () => NodeIndex;
  /** NODEHEAL_CLUSTER: only alerts of this cluster are acted on. */
  cluster?: ClusterScope | undefined;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
}

export interface AlertOutcome {
  alertname: string;
  status: string;
  node?: string;
  fault?: string;
  key?: string;
  decision: TriageDecision['kind'];
  /** Low-cardinality; the sentence behind it is in the log (and `nodeheal simulate`). */
  reason: string;
  dueAt?: string;
}

export class CommitConflictError extends Error {
  readonly code = 'INTAKE_COMMIT_CONFLICT';
}

const MAX_ATTEMPTS = 8;

interface Triaged {
  alert: NodeAlert;
  fault: Fault;
  decision: TriageDecision;
}

export async function processAlerts(
  batch: ReceivedBatch,
  deps: IntakeDeps,
): Promise<AlertOutcome[]> {
  const normalised = normaliseAlerts(batch.alerts, deps.nodeIndex(), deps.cluster);
  const catalog = deps.catalog();
  const ignored = [...normalised.ignored];
  const alerts = normalised.alerts.filter((alert) => {
    const alone = leftAlone(catalog, alert);
    if (alone === undefined) return true;
    ignored.push({ alertname: alert.alertname, reason: 'left_alone', detail: alone.reason });
    return false;
  });
  const withFaults = alerts.map((alert) => {
    const fault = matchFault(catalog, alert);
    return { alert, fault, key: dedupeKey(alert.node, fault, alert.cluster) };
  });
  const keys = [...new Set(withFaults.map((a) => a.key))];
  const context = { groupKey: batch.groupKey, receiver: batch.receiver, source: batch.source };

  let triaged: Triaged[] = [];
  let committed = false;
  let finalHistories = new Map<string, FaultHistory | undefined>();
  for (let attempt = 1; attempt <= MAX_ATTEMPTS && !committed; attempt++) {
    const now = deps.now();
    // Remembered histories (the usual case for repeats) without a trip through a promise.
    const snapshots = deps.store.cachedHistories(keys) ?? (await deps.store.readHistories(keys));
    const histories = new Map<string, FaultHistory | undefined>(
      snapshots.map((s) => [s.key, s.history]),
    );
    triaged = withFaults.map(({ alert, fault, key }) => {
      const { decision, history } = applyAlert(alert, fault, histories.get(key), now);
      histories.set(key, history);
      return { alert, fault, decision };
    });
    const next = new Map<string, FaultHistory>();
    for (const s of snapshots) {
      const h = histories.get(s.key);
      // Triage hands back the very history it was given when the alerts changed nothing, so
      // identity tells what to write (the store serialises each new history once).
      if (h !== undefined && h !== s.history) next.set(s.key, h);
    }
    const receivedAt = now.toISOString();
    const records: AlertRecord[] = [
      ...triaged.map((t) => alertRecord(t.alert, t.fault.name, t.decision, receivedAt, context)),
      ...ignored.map((i) => ({
        receivedAt,
        status: 'unknown',
        alertname: i.alertname,
        node: '',
        decision: 'ignore',
        reason: i.reason,
        detail: i.detail,
        ...context,
      })),
    ];
    committed = await deps.store.commit({ snapshots, next, records });
    finalHistories = histories;
    // A conflict leaves the store knowing the current values, so the first retry goes at once;
    // later ones back off a little (another replica committing the same keys).
    if (!committed && attempt > 1) {
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
  if (!committed) {
    throw new CommitConflictError(`histories kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  const queueWrites = applyQueueOperations(triaged, finalHistories, deps, batch.source);
  if (queueWrites) await queueWrites;
  return report(triaged, ignored, deps, batch);
}

/**
 * The last queue-relevant decision per key wins (alerts of one payload are in order). Nothing to
 * write (a repeat of a confirmed episode): undefined, so the caller need not await anything.
 */
function applyQueueOperations(
  triaged: Triaged[],
  histories: ReadonlyMap<string, FaultHistory | undefined>,
  deps: IntakeDeps,
  source: string,
): Promise<void> | undefined {
  const last = new Map<string, Triaged>();
  for (const t of triaged) {
    if (t.decision.kind === 'debounce' || t.decision.kind === 'cancel') last.set(t.decision.key, t);
  }
  if (last.size === 0) return undefined;
  const now = deps.now();
  const toSchedule: { job: HealJob; delayMs: number; dueAt: Date }[] = [];
  const toCancel: Triaged[] = [];
  for (const t of last.values()) {
    const { alert, fault, decision } = t;
    if (decision.kind === 'cancel') toCancel.push(t);
    if (decision.kind !== 'debounce') continue;
    // A repeat (Alertmanager's repeat_interval, the HA twin, a retry) of an episode whose job the
    // queue already confirmed, due at the same time: nothing to write.
    if (histories.get(decision.key)?.scheduledFor === decision.dueAt.getTime()) continue;
    const generatorURL = carriedUrl(alert.generatorURL);
    const sourceURL = carriedUrl(alert.sourceURL);
    toSchedule.push({
      job: {
        version: HEAL_JOB_VERSION,
        key: decision.key,
        node: alert.node,
        fault: fault.name,
        alertname: alert.alertname,
        fingerprint: alert.fingerprint,
        labels: { ...alert.labels },
        startsAt: isoTime(alert.startsAt),
        dueAt: isoTime(decision.dueAt),
        scheduledAt: now.toISOString(),
        flapping: decision.flapping,
        source,
        // What the status page shows of why the heal started, bounded in size.
        annotations: shownAnnotations(alert.annotations),
        ...(generatorURL === undefined ? {} : { generatorURL }),
        ...(sourceURL === undefined ? {} : { sourceURL }),
      },
      delayMs: Math.max(0, decision.dueAt.getTime() - now.getTime()),
      dueAt: decision.dueAt,
    });
  }
  if (toSchedule.length === 0 && toCancel.length === 0) return undefined;
  return Promise.all([
    scheduleAndConfirm(toSchedule, deps),
    ...toCancel.map(async ({ alert, fault, decision }) => {
      const outcome = await deps.scheduler.cancel(decision.key);
      if (outcome === 'running') {
        deps.logger.info(
          { key: decision.key, node: alert.node, fault: fault.name },
          'resolved while its heal had just started; the worker verifies the node itself',
        );
      }
    }),
  ]).then(() => undefined);
}

/** All of a request's new jobs in one round trip, then each confirmed in its history. */
async function scheduleAndConfirm(
  entries: { job: HealJob; delayMs: number; dueAt: Date }[],
  deps: IntakeDeps,
): Promise<void> {
  if (entries.length === 0) return;
  if (entries.length === 1 && entries[0]) {
    await deps.scheduler.schedule(entries[0].job, entries[0].delayMs);
  } else {
    await deps.scheduler.scheduleAll(entries);
  }
  // Written after the jobs exist: a failure in between only costs one more add next time.
  await Promise.all(entries.map((e) => deps.store.confirmScheduled(e.job.key, e.dueAt)));
}

function alertRecord(
  alert: NodeAlert,
  fault: string,
  decision: TriageDecision,
  receivedAt: string,
  context: { groupKey: string; receiver: string; source: string },
): AlertRecord {
  return {
    receivedAt,
    status: alert.status,
    alertname: alert.alertname,
    node: alert.node,
    fault,
    key: decision.key,
    fingerprint: alert.fingerprint,
    startsAt: isoTime(alert.startsAt),
    endsAt: alert.endsAt ? isoTime(alert.endsAt) : '',
    decision: decision.kind,
    reason: decision.reason,
    dueAt: decision.kind === 'debounce' ? isoTime(decision.dueAt) : '',
    groupKey: context.groupKey,
    receiver: context.receiver,
    source: context.source,
  };
}

function report(
  triaged: Triaged[],
  ignored: ReturnType<typeof normaliseAlerts>['ignored'],
  deps: IntakeDeps,
  batch: ReceivedBatch,
): AlertOutcome[] {
  const outcomes: AlertOutcome[] = [];
  // Counted per label set first, then one increment each: a 100-alert request is a handful of
  // metric updates, not three hundred.
  const tally = new Tally();
  for (const a of batch.alerts) tally.add('received', a.status);
  for (const i of ignored) {
    tally.add('ignored', i.reason);
    deps.logger.info({ alertname: i.alertname, reason: i.reason }, i.detail);
    outcomes.push({
      alertname: i.alertname,
      status: 'unknown',
      decision: 'ignore',
      reason: i.reason,
    });
  }
  for (const { alert, fault, decision } of triaged) {
    tally.add('decision', decision.kind, decision.reason);
    if (decision.kind === 'ignore') tally.add('ignored', decision.reason);
    if (decision.kind === 'debounce' && decision.flapping) tally.add('flapping', fault.name);
    // Repeats (Alertmanager's repeat_interval, the HA twin) change nothing: debug level only.
    const quiet = decision.kind === 'debounce' && decision.repeat && !decision.flapping;
    const level = quiet ? 'debug' : 'info';
    if (deps.logger.isLevelEnabled(level)) {
      deps.logger[level](
        {
          key: decision.key,
          node: alert.node,
          fault: fault.name,
          alertname: alert.alertname,
          status: alert.status,
          decision: decision.kind,
          reason: decision.reason,
        },
        decision.detail,
      );
    }
    outcomes.push({
      alertname: alert.alertname,
      status: alert.status,
      node: alert.node,
      fault: fault.name,
      key: decision.key,
      decision: decision.kind,
      reason: decision.reason,
      ...(decision.kind === 'debounce' ? { dueAt: isoTime(decision.dueAt) } : {}),
    });
  }
  for (const { metric, labels, count } of tally.entries()) {
    const [first = '', second = ''] = labels;
    if (metric === 'received') observeAlertReceived(deps.metrics, first, count);
    else if (metric === 'ignored') observeAlertIgnored(deps.metrics, first, count);
    else if (metric === 'decision') observeTriageDecision(deps.metrics, first, second, count);
    else observeFlapping(deps.metrics, first, count);
  }
  return outcomes;
}

type TallyMetric = 'received' | 'ignored' | 'decision' | 'flapping';

/** Occurrences per (metric, label values). */
class Tally {
  readonly #counts = new Map<string, { metric: TallyMetric; labels: string[]; count: number }>();

  add(metric: TallyMetric, ...labels: string[]): void {
    const id = `${metric}\u0000${labels.join('\u0000')}`;
    const entry = this.#counts.get(id);
    if (entry) entry.count++;
    else this.#counts.set(id, { metric, labels, count: 1 });
  }

  entries() {
    return this.#counts.values();
  }
}
