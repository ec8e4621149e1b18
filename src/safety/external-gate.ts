// The contract of gates that ask something outside nodeheal before a step acts (the operator's
// PromQL blockers, Alertmanager silences, pre-step hooks): what they are asked and how they
// answer. Types only: the adapters implement them, the worker asks them (worker/external-gates.ts).
import type { V1Node } from '@kubernetes/client-node';
import type { RemedyAction } from '../rules/index.ts';
import type { BlockingGate } from './gate-names.ts';

/** What an external gate is asked about: the heal, the step about to act, and its fault. */
export interface ExternalGateContext {
  healId: string;
  node: V1Node;
  /** The node's pool ('' when it has none). */
  pool: string;
  action: RemedyAction;
  /** Index in the ladder of the step about to act. */
  step: number;
  fault: string;
  /** The labels of the alert that started (or joined) the heal. */
  alertLabels: Readonly<Record<string, string>>;
}

export interface ExternalHold {
  gate: Extract<BlockingGate, 'blocker' | 'silence' | 'hook'>;
  detail: string;
  /** When to ask again, if the gate knows (a silence's end, a hook's Retry-After). */
  retryAt?: number;
}

export interface ExternalGate {
  /** The gate its holds count under (status API, `nodeheal_safety_blocked_total{gate}`). */
  readonly gate: ExternalHold['gate'];
  /** What it asks, for the hold's detail (`prometheus blocker "ceph"`, `hook db-primary`). */
  readonly name: string;
  /** Whether this gate has anything to say about `action` (blockers: disruptive steps only). */
  appliesTo(action: RemedyAction): boolean;
  check(context: ExternalGateContext): Promise<ExternalHold | undefined>;
}
