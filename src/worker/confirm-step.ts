// Before a heal's first action: is its fault still there? Gathers what Alertmanager and the API
// say now, and lets heal/confirm-firing.ts decide: go, or wait for the resolved notification that
// may still be on its way (the heal then ends without acting, `not-needed`, when it comes).
import type { V1Node } from '@kubernetes/client-node';
import {
  conditionHealthy,
  confirmFiring,
  type AlertmanagerAnswer,
  type ConfirmationResult,
} from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { forgetOverSince, keepOverSince, overSince } from '../store/index.ts';
import type { FaultHistory } from '../triage/index.ts';
import type { ConfirmDeps, RunnerDeps, RunOutcome } from './runner-deps.ts';

/** A heal whose wait ran out goes on going ahead for this long, however often a gate holds it. */
const WAITED_OUT_KEPT_MS = 24 * 3_600_000;

/** The gate name a waiting heal's job reports (queue logs, `later` reason). */
export const CONFIRM_GATE = 'fault-over';

/** The alert names a fault answers to: its catalog selectors, and the one that opened the heal. */
function alertnamesOf(deps: RunnerDeps, job: HealJob): string[] {
  const fault = deps.catalog().faults.find((f) => f.name === job.fault);
  return [job.alertname, ...(fault?.alerts.map((a) => a.alertname) ?? [])];
}

async function askAlertmanager(
  confirm: ConfirmDeps,
  deps: RunnerDeps,
  job: HealJob,
): Promise<AlertmanagerAnswer> {
  // Alerts from another source (Grafana) have fingerprints Alertmanager does not know.
  if (!confirm.alertActivity || (job.source !== undefined && job.source !== 'alertmanager')) {
    return { kind: 'not-asked' };
  }
  try {
    return { kind: 'listed', fingerprints: await confirm.alertActivity(alertnamesOf(deps, job)) };
  } catch (error) {
    return { kind: 'unanswered', why: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Undefined when the heal may act now; a `deferred` outcome (gate `fault-over`) when the fault
 * looks over and the heal should ask again later. Called before the heal has a record.
 */
export async function confirmStillFiring(
  deps: RunnerDeps,
  healId: string,
  job: HealJob,
  history: FaultHistory | undefined,
  node: V1Node,
): Promise<RunOutcome | undefined> {
  const confirm = deps.confirm;
  if (!confirm) return undefined;
  const now = deps.now().getTime();
  const active = history?.active.map((a) => a.fingerprint) ?? [job.fingerprint];
  const alertmanager = await askAlertmanager(confirm, deps, job);
  const evidence = {
    activeFingerprints: active,
    alertmanager,
    apiHealthy: conditionHealthy(node, job.labels),
    overSince: undefined,
    now,
    recheckMs: confirm.recheckMs,
    maxWaitMs: confirm.maxWaitMs,
  };
  let decision = confirmFiring(evidence);
  if (decision.kind === 'wait') {
    // It looks over: since when, for this heal (kept in Redis across attempts and workers)?
    const ttlMs = confirm.maxWaitMs + 2 * confirm.recheckMs;
    decision = confirmFiring({
      ...evidence,
      overSince: await overSince(deps.redis, healId, now, ttlMs),
    });
  }
  count(deps, decision.result);
  const log = deps.logger.child({ healId, node: job.node, fault: job.fault });
  if (decision.kind === 'go') {
    if (decision.result === 'waited-out') {
      await keepOverSince(deps.redis, healId, WAITED_OUT_KEPT_MS);
    } else if (decision.result === 'firing') {
      await forgetOverSince(deps.redis, healId);
    }
    if (decision.result === 'waited-out' || decision.result === 'alertmanager-unanswered') {
      log.warn(decision.detail);
    }
    return undefined;
  }
  log.info({ until: new Date(decision.until).toISOString() }, decision.detail);
  return { kind: 'deferred', until: decision.until, gate: CONFIRM_GATE, detail: decision.detail };
}

function count(deps: RunnerDeps, result: ConfirmationResult): void {
  deps.metrics.faultConfirmation?.(result);
}
