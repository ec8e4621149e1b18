// Worker: runs heals. The runner drives the pure ladder machine through its stages (load and
// lock, start, gate, act, verify, record); the processor is what the BullMQ worker calls.
export { healProcessor } from './processor.ts';
export {
  healsAbandoned,
  healsAwaitingApproval,
  healsInProgress,
  type HealGaugeDeps,
} from './heal-gauges.ts';
export { stepHooks, type StepHookDeps, type StepHooks } from './step-hooks.ts';
export {
  healIdFor,
  runHeal,
  type RunnerDeps,
  type RunnerMetrics,
  type RunOutcome,
} from './runner.ts';
export { CONFIRM_GATE } from './confirm-step.ts';
export type { ConfirmDeps } from './runner-deps.ts';
export { watchStorms, withPoolHealth, STORM_WATCH_MS } from './storm-watch.ts';
