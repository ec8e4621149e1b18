// Gates that ask something outside nodeheal before a step acts: the operator's own signals
// (PromQL blockers, Alertmanager silences) and pre-step hooks with a veto. Each answers "hold,
// because ..." or nothing; one that cannot get an answer holds too (when unsure, do nothing).
// They are asked before the budget slot is taken, so a held heal holds no slot.
import type { V1Node } from '@kubernetes/client-node';
import type { RemedyAction } from '../rules/index.ts';
import type { BlockingGate } from '../safety/index.ts';

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

/** The first hold any gate answers, in order; undefined when every gate lets the step go. */
export async function askExternalGates(
  gates: readonly ExternalGate[],
  context: ExternalGateContext,
): Promise<ExternalHold | undefined> {
  for (const gate of gates) {
    if (!gate.appliesTo(context.action)) continue;
    try {
      const hold = await gate.check(context);
      if (hold) return hold;
    } catch (error) {
      // A gate that throws did not answer: hold, and say why.
      const why = error instanceof Error ? error.message : String(error);
      return { gate: gate.gate, detail: `${gate.name} could not be asked: ${why}` };
    }
  }
  return undefined;
}
