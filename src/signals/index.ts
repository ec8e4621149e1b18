// Signals: the operator's own signals asked before a heal acts (PromQL blockers through
// Prometheus, silences through Alertmanager), as gates the worker asks.
export { blockerGate, type BlockerGateOptions } from './blocker-gate.ts';
export { silenceGate, type SilenceGateOptions } from './silence-gate.ts';
export { alertActivity, type AlertActivityOptions } from './alert-activity.ts';
