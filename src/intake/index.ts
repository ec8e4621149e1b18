// Intake: the pipeline from a source's delivery (already normalised by the source) to NodeAlerts,
// triage decisions recorded durably, and queue operations. It knows no payload format.
export { processAlerts, type AlertOutcome, type IntakeDeps } from './process-alerts.ts';
export { normaliseAlerts, type ClusterScope, type IgnoredAlert } from './normalise.ts';
