// Triage: pure decisions about incoming node alerts (dedupe key, debounce, flap detection).
export type { AlertStatus, NodeAlert, ReceivedAlert } from './node-alert.ts';
export { dedupeKey } from './dedupe-key.ts';
export { isoTime } from './iso-time.ts';
export {
  DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
  EMPTY_HISTORY,
  MAX_TRACKED_ALERTS,
  classifyAlert,
  countTransitions,
  faultHistorySchema,
  isEmptyHistory,
  markHealFinished,
  markHealStarted,
  markScheduled,
  recordTransition,
  type AlertClass,
  type FaultHistory,
  type TriageOptions,
  type TriageRule,
} from './fault-history.ts';
export {
  applyAlert,
  triage,
  type CancelReason,
  type DebounceReason,
  type IgnoreReason,
  type ObserveReason,
  type TriageDecision,
} from './triage.ts';
export { isDns1123Subdomain } from './node-name.ts';
