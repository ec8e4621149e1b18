// Every Redis key nodeheal writes, in one place (BullMQ's own keys live under the queue prefix,
// `QUEUE_PREFIX`). Nothing outside the store spells a key; `KEYSPACE` lists them for operators
// and tests.

/** Prefix of every nodeheal key, BullMQ's included (`nodeheal:heal:*` for the heal queue). */
export const QUEUE_PREFIX = 'nodeheal';

export const keys = {
  /** Triage memory of one (node, fault) dedupe key (JSON FaultHistory, a week's TTL). */
  history: (dedupeKey: string) => `nodeheal:history:${dedupeKey}`,
  /** Stream of every alert received, as recorded (capped). */
  alertLog: 'nodeheal:alerts',
  /** A heal record (JSON, 30 days). */
  record: (healId: string) => `nodeheal:record:${healId}`,
  /** Sorted set of every heal id by creation time. */
  records: 'nodeheal:records',
  /** Sorted set of a node's heal ids by creation time. */
  recordsOfNode: (node: string) => `nodeheal:records:node:${node}`,
  /** Set while an operator has paused healing (JSON PauseState). */
  paused: 'nodeheal:paused',
  /** Who asked to cancel a heal. */
  cancel: (healId: string) => `nodeheal:cancel:${healId}`,
  /** An operator's approval or rejection of a heal (JSON ApprovalDecision, 30 days). */
  approval: (healId: string) => `nodeheal:approval:${healId}`,
  /** Why a safety gate holds a heal (JSON BlockedNote). */
  blocked: (healId: string) => `nodeheal:blocked:${healId}`,
  /** An operator's confirmation that a node is down (JSON FenceConfirmation, a day). */
  fence: (node: string) => `nodeheal:fence:node:${node}`,
  /** Measured outcomes of each remedy per fault (JSON SuccessTable). */
  successRates: 'nodeheal:success-rates',
  /** Recent durations of each ladder step per pool and fault (JSON DurationTable). */
  stepDurations: 'nodeheal:step-durations',
  /** Heals in flight, pool health, storms and node history for the gates (JSON BudgetState). */
  budget: 'nodeheal:budget',
  /** The heal acting on a node (its id; expires unless renewed). */
  nodeLock: (node: string) => `nodeheal:lock:node:${node}`,
  /** Faults that joined a running heal (a list of JSON entries). */
  joinedPrefix: 'nodeheal:joined:',
  joined: (healId: string) => `nodeheal:joined:${healId}`,
  /** The heal a waiting job joined. */
  joinedTo: (healId: string) => `nodeheal:joined-to:${healId}`,
  /** Since when a due heal's fault looks over (epoch ms; expires after the longest wait). */
  overSince: (healId: string) => `nodeheal:over-since:${healId}`,
} as const;

/** The keyspace as patterns (`*` for the variable part), for operators and the keyspace test. */
export const KEYSPACE: readonly string[] = Object.values(keys).map((k) =>
  typeof k === 'function' ? k('*') : k,
);
