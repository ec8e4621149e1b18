// Intake: the HTTP edge where Alertmanager webhooks enter nodeheal.
export { buildApp, type AppDeps } from '../http/app.ts';
export { processWebhook, type AlertOutcome, type IntakeDeps } from './process-alerts.ts';
export { redisIntakeStore, ALERT_LOG_STREAM, type IntakeStore } from '../store/intake-store.ts';
export {
  parseAlertmanagerPayload,
  type AlertmanagerPayload,
} from '../sources/alertmanager/payload.ts';
export { normaliseAlerts } from './normalise.ts';
export { buildNodeIndex, type NodeIndex } from '../kube/node-index.ts';
export { SecretSource, type WebhookCredentials } from '../http/auth.ts';
