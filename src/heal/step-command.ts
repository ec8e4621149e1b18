// What a heal record stands for: the command a worker carries out next, read from the record
// alone (what a resumed worker does first).
import { currentStep, type HealRecord } from './heal-record.ts';
import type { Command } from './observation.ts';

/** The command a record stands for, without any change (what a resumed worker does next). */
export function currentCommand(record: HealRecord): Command {
  if (record.status !== 'running') {
    return {
      kind: 'finish',
      status: record.status,
      reason: record.outcomeReason ?? record.status,
      uncordon:
        (record.status === 'healed' || record.status === 'cancelled') &&
        record.cordonedByUs &&
        !record.nodeGone,
    };
  }
  const step = currentStep(record);
  const deadline = record.deadline ?? record.updatedAt;
  switch (record.stepState) {
    case 'pending':
      if (record.gate !== null) {
        return {
          kind: 'wait-gate',
          gate: record.gate,
          until: deadline,
          stepIndex: record.stepIndex,
        };
      }
      return {
        kind: 'wait-retry',
        until: deadline,
        stepIndex: record.stepIndex,
        attempt: record.retries + 1,
      };
    case 'acting':
      return {
        kind: 'act',
        step,
        stepIndex: record.stepIndex,
        attempt: record.retries + 1,
        deadline,
      };
    case 'verifying':
      if (record.confirmingSince !== null) {
        return {
          kind: 'confirm',
          until: deadline,
          stepIndex: record.stepIndex,
          uncordon: record.cordonedByUs,
        };
      }
      return {
        kind: 'verify',
        until: deadline,
        stepIndex: record.stepIndex,
        awaiting: step.action === 'replace' ? 'node-gone' : 'fault-resolved',
      };
  }
}
