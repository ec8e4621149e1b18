// Heal: the ladder state machine (pure `nextStep`), the heal record it drives, and the success
// rates of remedies. The runner that executes commands lives outside the pure core.
export {
  HEAL_RECORD_VERSION,
  HEAL_STATUSES,
  MAX_TRANSITIONS,
  STEP_STATES,
  TRANSITION_KINDS,
  InvalidHealError,
  currentStep,
  healDurationMs,
  healRecordSchema,
  joinedFaultSchema,
  isExpertRemedy,
  isFinished,
  isPreparation,
  ladderStepSchema,
  newHealRecord,
  recordState,
  timeToHealMs,
  transitionSchema,
  type FinalStatus,
  type HealRecord,
  type HealStatus,
  type JoinedFault,
  type NewHealRecordParams,
  type RecordState,
  type StepState,
  type Transition,
  type TransitionKind,
} from './heal-record.ts';
export { healPhases, type HealPhases } from './heal-phases.ts';
export { observationSchema, type Command, type Observation } from './observation.ts';
export {
  MAX_RETRIES,
  RETRY_BASE_MS,
  RETRY_MAX_MS,
  currentCommand,
  nextStep,
  retryBackoffMs,
  type NextStepResult,
  type StepRates,
  type StepStats,
} from './next-step.ts';
export {
  DEFAULT_OUTCOME_CAPACITY,
  MAX_OUTCOME_CAPACITY,
  outcomeRingSchema,
  ratesFrom,
  recordOutcome,
  recordStepOutcome,
  recordStepResults,
  statsFor,
  stepResults,
  successKey,
  successStats,
  successTableSchema,
  type OutcomeRing,
  type StepResult,
  type SuccessStats,
  type SuccessTable,
} from './success-rate.ts';
export { DEFAULT_POOL_LABELS, conditionHealthy, isUnhealthy, poolOf } from './world.ts';
export {
  type Fence,
  type FenceConfirmation,
  fenceConfirmationSchema,
  fenceWithoutProvider,
  needsFence,
} from './fence.ts';
export { followedJoinedFault, isNewToHeal } from './joined-faults.ts';
