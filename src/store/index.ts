// Store: the one owner of the Redis keyspace (keys.ts): heal records and operator controls,
// triage histories and the alert log, the node lock and joined faults, the shared budget and
// success rates, each behind an interface or a function that says what it does.
export { CasConflictError } from './cas.ts';
export {
  redisHealStore,
  RECORD_TTL_SECONDS,
  type BlockedNote,
  type HealStore,
  type PauseState,
} from './heal-store.ts';
export {
  ALERT_LOG_STREAM,
  historyKey,
  redisIntakeStore,
  type AlertRecord,
  type CommitBatch,
  type HistorySnapshot,
  type IntakeStore,
} from './intake-store.ts';
export { KEYSPACE, QUEUE_PREFIX, keys } from './keys.ts';
export {
  durabilityWarning,
  readRedisDurability,
  type RedisDurability,
} from './redis-durability.ts';
export {
  REDIS_CLUSTER_REFUSED,
  clusterEnabledInInfo,
  redisClusterEnabled,
} from './redis-cluster.ts';
export {
  forgetJoinedTo,
  joinedEntries,
  joinedTo,
  joinHolder,
  LOCK_TTL_MS,
  lockHolder,
  releaseLock,
  takeLock,
} from './node-lock.ts';
export {
  readBudget,
  readHistory,
  overSince,
  forgetOverSince,
  keepOverSince,
  readStepDurations,
  readSuccessRates,
  updateBudget,
  updateHistory,
  updateStepDurations,
  updateSuccessRates,
} from './shared-state.ts';
