// Which of a fault's alerts Alertmanager still holds unresolved: asked when a heal is due, before
// its first action (heal/confirm-firing.ts). Alertmanager's API lists only alerts not yet
// resolved (`endsAt` in the future), silenced and inhibited ones included.
import { z } from 'zod';
import { cached, getJson } from './http-json.ts';

export interface AlertActivityOptions {
  /** One Alertmanager of the cluster: every Prometheus sends its alerts to each of them. */
  alertmanagerUrl: string;
  timeoutMs: number;
  /** Heals asking about the same alert names within this share one answer. */
  cacheMs: number;
  now?: () => number;
}

const apiAlertsSchema = z.array(z.object({ fingerprint: z.string() }));

/** Prometheus alert names are `[a-zA-Z_:][a-zA-Z0-9_:]*`; anything else is escaped anyway. */
function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\"]/g, '\\$&');
}

/**
 * Returns a function answering the fingerprints Alertmanager holds unresolved among the alerts
 * named `alertnames`; it throws (with why) when Alertmanager does not answer.
 */
export function alertActivity(
  options: AlertActivityOptions,
): (alertnames: readonly string[]) => Promise<ReadonlySet<string>> {
  const now = options.now ?? Date.now;
  const base = `${options.alertmanagerUrl.replace(/\/+$/, '')}/api/v2/alerts`;
  const perQuery = new Map<string, () => Promise<ReadonlySet<string>>>();
  return async (alertnames) => {
    const names = [...new Set(alertnames)].sort();
    const filter = `alertname=~"${names.map(escapeRegex).join('|')}"`;
    const url = `${base}?${new URLSearchParams({ filter }).toString()}`;
    let ask = perQuery.get(url);
    if (ask === undefined) {
      ask = cached(options.cacheMs, now, async () => {
        const alerts = await getJson(url, apiAlertsSchema, options.timeoutMs);
        return new Set(alerts.map((a) => a.fingerprint));
      });
      // Bounded by the catalog: one entry per distinct set of a fault's alert names.
      perQuery.set(url, ask);
    }
    return await ask();
  };
}
