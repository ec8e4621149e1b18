// Grafana Alerting's webhook contact point as an alert source: POST /webhook/grafana. A
// Grafana-managed rule about a node gives the same NodeAlert as the Prometheus rule of the same
// name through Alertmanager, so the same fault from both sources is one heal.
import type { AlertSource } from '../source.ts';
import { receivedAlert } from '../wire.ts';
import { parseGrafanaPayload } from './payload.ts';

export {
  GRAFANA_VERSIONS,
  parseGrafanaPayload,
  type GrafanaAlert,
  type GrafanaPayload,
} from './payload.ts';

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
        alerts: parsed.payload.alerts.map((alert) =>
          receivedAlert(alert, parsed.payload.externalURL),
        ),
        groupKey: parsed.payload.groupKey,
        receiver: parsed.payload.receiver,
      },
    };
  },
};
