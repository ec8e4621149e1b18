// What the worker asks outside nodeheal, built from its configuration: the operator's own signals
// that hold heals (PromQL blockers, Alertmanager silences) and Alertmanager's view of a due
// heal's alerts (is the fault still there before the first action?).
import type { loadWorkerConfig } from '../config/index.ts';
import type { ExternalGate } from '../safety/index.ts';
import { alertActivity, blockerGate, silenceGate } from '../signals/index.ts';
import type { ConfirmDeps } from '../worker/index.ts';

type WorkerConfig = ReturnType<typeof loadWorkerConfig>;

// One answer serves every heal asking within a few seconds: a storm's held heals would
// otherwise each ask every defer period.
const SIGNALS_CACHE_MS = 5000;
// Alertmanager's view of alerts is shared a shorter while: a heal acts on the answer.
const ACTIVITY_CACHE_MS = 2000;

/** The operator's own signals that hold heals: PromQL blockers, Alertmanager silences. */
export function operatorSignalGates(config: WorkerConfig): ExternalGate[] {
  const gates: ExternalGate[] = [];
  const timeoutMs = config.NODEHEAL_SIGNALS_TIMEOUT_MS;
  const cacheMs = SIGNALS_CACHE_MS;
  const blockers = config.NODEHEAL_BLOCKERS ?? [];
  if (config.NODEHEAL_PROMETHEUS_URL && blockers.length > 0) {
    gates.push(
      blockerGate({ prometheusUrl: config.NODEHEAL_PROMETHEUS_URL, blockers, timeoutMs, cacheMs }),
    );
  }
  if (config.NODEHEAL_ALERTMANAGER_URL) {
    gates.push(
      silenceGate({ alertmanagerUrl: config.NODEHEAL_ALERTMANAGER_URL, timeoutMs, cacheMs }),
    );
  }
  return gates;
}

/**
 * The check before a heal's first action (NODEHEAL_CONFIRM_*): undefined when turned off
 * (NODEHEAL_CONFIRM_MAX_WAIT_MS=0). Without NODEHEAL_ALERTMANAGER_URL only the API is asked.
 */
export function confirmDeps(config: WorkerConfig): ConfirmDeps | undefined {
  if (config.NODEHEAL_CONFIRM_MAX_WAIT_MS === 0) return undefined;
  const url = config.NODEHEAL_ALERTMANAGER_URL;
  return {
    recheckMs: config.NODEHEAL_CONFIRM_RECHECK_MS,
    maxWaitMs: config.NODEHEAL_CONFIRM_MAX_WAIT_MS,
    ...(url
      ? {
          alertActivity: alertActivity({
            alertmanagerUrl: url,
            timeoutMs: config.NODEHEAL_SIGNALS_TIMEOUT_MS,
            cacheMs: ACTIVITY_CACHE_MS,
          }),
        }
      : {}),
  };
}
