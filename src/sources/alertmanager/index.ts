// Alertmanager's webhook (version 4) as an alert source: POST /webhook/alertmanager.
import type { ReceivedAlert } from '../../triage/index.ts';
import type { AlertSource } from '../source.ts';
import {
  parseAlertmanagerPayload,
  parseRfc3339,
  type AlertmanagerAlert,
  type AlertmanagerPayload,
} from './payload.ts';

export {
  parseAlertmanagerPayload,
  parseRfc3339,
  formatPath,
  SUPPORTED_VERSION,
  ZERO_TIME,
  type AlertmanagerAlert,
  type AlertmanagerPayload,
} from './payload.ts';

/**
 * One alert of a validated payload, source-neutral: its own status (not the group's), labels
 * and annotations copied, Go's zero `endsAt` as undefined, an empty fingerprint or generatorURL
 * as absent.
 */
export function receivedAlert(alert: AlertmanagerAlert): ReceivedAlert {
  const startsAt = parseRfc3339(alert.startsAt);
  const endsAt = parseRfc3339(alert.endsAt);
  if (startsAt === undefined || endsAt === undefined) {
    // The schema already checked both; reaching here means it was bypassed.
    throw new TypeError('receivedAlert needs a payload validated by parseAlertmanagerPayload');
  }
  const result: ReceivedAlert = {
    status: alert.status,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    startsAt,
  };
  if (endsAt.getUTCFullYear() > 1) result.endsAt = endsAt;
  if (alert.fingerprint) result.fingerprint = alert.fingerprint;
  if (alert.generatorURL !== '') result.generatorURL = alert.generatorURL;
  return result;
}

export function receivedAlerts(payload: AlertmanagerPayload): ReceivedAlert[] {
  return payload.alerts.map(receivedAlert);
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
