// The names of the safety gates: metric label values (`nodeheal_safety_blocked_total{gate}`) and
// the `gate` of a heal's `safety-blocked` observation.

export const GATES = [
  'paused',
  'opt-out',
  'control-plane',
  'dry-run',
  'cooldown',
  'daily-cap',
  'pool-budget',
  'cluster-budget',
  'storm',
  'window',
  // Asked outside nodeheal (worker/external-gates.ts): the operator's PromQL blockers, an
  // Alertmanager silence on the node's fault, a pre-step hook's veto.
  'blocker',
  'silence',
  'hook',
  // `approval: outage`: a disruptive step of a Ready node that would cause an outage waits for
  // an operator's yes (heal/approval.ts; asked by the worker, after the heal has a record).
  'approval',
] as const;

export type Gate = (typeof GATES)[number];

/** Every gate but `dry-run`, which never blocks (it only flags the heal as a dry run). */
export type BlockingGate = Exclude<Gate, 'dry-run'>;
