// Gates that ask something outside nodeheal before a step acts: the operator's own signals
// (PromQL blockers, Alertmanager silences) and pre-step hooks with a veto. Each answers "hold,
// because ..." or nothing; one that cannot get an answer holds too (when unsure, do nothing).
// They are asked before the budget slot is taken, so a held heal holds no slot.
import type { ExternalGate, ExternalGateContext, ExternalHold } from '../safety/index.ts';

export type { ExternalGate, ExternalGateContext, ExternalHold };

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
