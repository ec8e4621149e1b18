// Safety: pure gates (pause, opt-out, control plane, storm, daily cap, cooldown, budgets, dry
// run) and the budget state they read; the self-fence rules of the node agent.
export { GATES, type BlockingGate, type Gate } from './gate-names.ts';
export type { ExternalGate, ExternalGateContext, ExternalHold } from './external-gate.ts';
export {
  DEFAULT_SAFETY_CONFIG,
  safetyConfig,
  safetyConfigSchema,
  type SafetyConfig,
} from './safety-config.ts';
export {
  DAY_MS,
  EMPTY_BUDGET_STATE,
  acquireSlot,
  budgetStateSchema,
  inFlightHealSchema,
  nodeHistorySchema,
  poolHealthSchema,
  pruneHistory,
  releaseSlot,
  stormStateSchema,
  type BudgetState,
  type InFlightHeal,
  type NodeHistory,
  type PoolHealth,
  type StormState,
} from './budget-state.ts';
export {
  GHOST_SLOT_LOCK_LIFETIMES,
  ghostSlotAfterMs,
  releaseGhostSlots,
  renewSlot,
  slotHeartbeat,
} from './slot-liveness.ts';
export {
  isStormActive,
  stormCondition,
  unhealthyShare,
  updateStormState,
  type StormConfig,
} from './storm.ts';
export {
  CONTROL_PLANE_LABELS,
  MAX_CONTROL_PLANE_IN_FLIGHT,
  OPT_OUT_LABEL,
  checkGates,
  isControlPlane,
  isOptedOut,
  type GateInput,
  type GateResult,
} from './gates.ts';
export {
  DEFAULT_SELF_FENCE_SETTINGS,
  INITIAL_SELF_FENCE_STATE,
  selfFenceApplies,
  selfFenceDecision,
  selfFenceRebootFailed,
  selfFenceSafeTimeSeconds,
  selfFenceSettingsSchema,
  selfFenceWorkerSchema,
  type SelfFenceDecision,
  type SelfFenceProbe,
  type SelfFenceReason,
  type SelfFenceSettings,
  type SelfFenceState,
  type SelfFenceWorker,
} from './self-fence.ts';
export {
  disruptsRunningNode,
  isInWindow,
  maintenanceWindowSchema,
  maintenanceWindowsSchema,
  windowGate,
  windowsFor,
  type MaintenanceWindow,
  type WindowDecision,
} from './windows.ts';
export {
  NODEHEAL_SILENCE_ALERTNAME,
  blockerCovers,
  blockerSchema,
  blockersSchema,
  describeSilence,
  holdingSilence,
  silenceMatches,
  silenceSchema,
  type Blocker,
  type Silence,
  type SilencedHeal,
} from './operator-signals.ts';
