// Alertmanager's webhook (version 4) as an alert source: POST /webhook/alertmanager.
import type { ReceivedAlert } from '../../triage/index.ts';
import type { AlertSource } from '../source.ts';
import { receivedAlert } from '../wire.ts';
import { parseAlertmanagerPayload, type AlertmanagerPayload } from './payload.ts';

export {
  parseAlertmanagerPayload,
  parseRfc3339,
  formatPath,
  SUPPORTED_VERSION,
  ZERO_TIME,
  type AlertmanagerAlert,
  type AlertmanagerPayload,
} from './payload.ts';

export { receivedAlert };

export function receivedAlerts(payload: AlertmanagerPayload): ReceivedAlert[] {
  return payload.alerts.map((alert) => receivedAlert(alert, payload.externalURL));
}

export const alertmanagerSource: AlertSource = {
  name: 'alertmanager',
  path: '/webhook/alertmanager',
  parse(body) {
    const parsed = parseAlertmanagerPayload(body);
    if (!parsed.ok) return parsed;
    return {
      ok: true,
      batch: {
        source: 'alertmanager',
        alerts: receivedAlerts(parsed.payload),
        groupKey: parsed.payload.groupKey,
        receiver: parsed.payload.receiver,
      },
    };
  },
};
