// The BullMQ processor of the heal queue: runs a heal job and tells the queue what became of it
// (done, or again later: deferred by a gate, waiting for the heal it joined, or shutting down).
import type { HealJob } from '../queue/index.ts';
import type { ProcessResult } from '../queue/index.ts';
import { runHeal, type RunnerDeps } from './runner.ts';

export function healProcessor(
  deps: RunnerDeps,
): (job: HealJob, jobId: string, signal: AbortSignal) => Promise<ProcessResult> {
  return async (job, jobId, signal) => {
    const outcome = await runHeal(job, jobId, deps, signal);
    switch (outcome.kind) {
      case 'finished':
        return {
          kind: 'done',
          summary: `${outcome.record.status}: ${outcome.record.outcomeReason ?? ''}`,
        };
      case 'not-needed':
        return { kind: 'done', summary: `not needed: ${outcome.reason}` };
      case 'joined':
        return {
          kind: 'later',
          until: outcome.until,
          reason: `recorded on heal ${outcome.healId}, which runs on this node`,
        };
      case 'deferred':
        return {
          kind: 'later',
          until: outcome.until,
          reason: `${outcome.gate}: ${outcome.detail}`,
        };
      case 'interrupted':
        // Shutting down, or the node lock may be lost: hand the job back now; the next worker
        // resumes from the record (once it can take the node's lock).
        return {
          kind: 'later',
          until: Date.now(),
          reason: outcome.reason ?? 'worker shutting down',
        };
    }
  };
}
