// Grafana Alerting's webhook contact point as an alert source: POST /webhook/grafana. A
// Grafana-managed rule about a node gives the same NodeAlert as the Prometheus rule of the same
// name through Alertmanager, so the same fault from both sources is one heal.
import type { ReceivedAlert } from '../../triage/index.ts';
import type { AlertSource } from '../source.ts';
import { parseRfc3339 } from '../wire.ts';
import { parseGrafanaPayload, type GrafanaAlert } from './payload.ts';

export {
  GRAFANA_VERSIONS,
  parseGrafanaPayload,
  type GrafanaAlert,
  type GrafanaPayload,
} from './payload.ts';

/** One alert of a validated payload, source-neutral (Grafana's extra fields are not needed). */
export function receivedGrafanaAlert(alert: GrafanaAlert): ReceivedAlert {
  const startsAt = parseRfc3339(alert.startsAt);
  const endsAt = parseRfc3339(alert.endsAt);
  if (startsAt === undefined || endsAt === undefined) {
    throw new TypeError('receivedGrafanaAlert needs a payload validated by parseGrafanaPayload');
  }
  const result: ReceivedAlert = {
    status: alert.status,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    startsAt,
  };
  // Go's zero time while firing, as Alertmanager.
  if (endsAt.getUTCFullYear() > 1) result.endsAt = endsAt;
  if (alert.fingerprint !== '') result.fingerprint = alert.fingerprint;
  if (alert.generatorURL !== '') result.generatorURL = alert.generatorURL;
  return result;
}

export const grafanaSource: AlertSource = {
  name: 'grafana',
  path: '/webhook/grafana',
  parse(body) {
    const parsed = parseGrafanaPayload(body);
    if (!parsed.ok) return parsed;
    return {
      ok: true,
      batch: {
        source: 'grafana',
        alerts: parsed.payload.alerts.map(receivedGrafanaAlert),
        groupKey: parsed.payload.groupKey,
        receiver: parsed.payload.receiver,
      },
    };
  },
};
