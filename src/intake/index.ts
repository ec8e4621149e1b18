// Intake: the HTTP edge where Alertmanager webhooks enter nodeheal.
export { buildApp, type AppDeps } from './app.ts';
export { processWebhook, type AlertOutcome, type IntakeDeps } from './process-alerts.ts';
export {
  redisIntakeStore,
  ALERT_LOG_STREAM,
  OBSERVATION_STREAM,
  type IntakeStore,
} from './intake-store.ts';
export { parseAlertmanagerPayload, type AlertmanagerPayload } from './alertmanager-payload.ts';
export { normaliseAlerts } from './normalise.ts';
export { buildNodeIndex, type NodeIndex } from './node-index.ts';
export { SecretSource, type WebhookCredentials } from './auth.ts';
