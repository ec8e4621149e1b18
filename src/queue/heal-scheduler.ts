// Schedules and cancels heal jobs with BullMQ's own deduplication and delay features: one job
// per (node, fault) deduplication id, rescheduled in place while it is still delayed.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { HEAL_JOB, HEAL_QUEUE, type HealJob } from './heal-job.ts';

export type CancelOutcome = 'removed' | 'absent' | 'running';

export interface HealScheduler {
  /** Ensures one job for `job.key`, due `delayMs` from now. Idempotent. */
  schedule(job: HealJob, delayMs: number): Promise<string>;
  /** Removes the pending job of `key`; a job already running is left to the worker. */
  cancel(key: string): Promise<CancelOutcome>;
  /** The pending job of `key`, if any (id, data, due time). */
  pending(
    key: string,
  ): Promise<{ id: string; data: HealJob; dueAt: number; state: string } | undefined>;
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Job retention: enough history for the status pages, bounded so Redis does not grow. */
const retention = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export function bullmqHealScheduler(connection: Redis, prefix = 'nodeheal'): HealScheduler {
  const queue = new Queue<HealJob>(HEAL_QUEUE, { connection, prefix });
  // BullMQ re-emits connection errors on the queue; the intake reports them per request.
  queue.on('error', () => undefined);
  return {
    async schedule(job, delayMs) {
      const added = await queue.add(HEAL_JOB, job, {
        delay: delayMs,
        // While the job is delayed, a later delivery moves it to the recomputed due time (a
        // flapping fault is held longer); once it is waiting or running it is left alone.
        deduplication: { id: job.key, reschedule: true },
        ...retention,
      });
      return added.id ?? '';
    },
    async cancel(key) {
      const id = await queue.getDeduplicationJobId(key);
      if (!id) return 'absent';
      const found = await queue.getJob(id);
      if (!found) {
        await queue.removeDeduplicationKey(key);
        return 'absent';
      }
      const state = await found.getState();
      if (state === 'active') return 'running';
      if (state === 'completed' || state === 'failed') return 'absent';
      await found.remove();
      await queue.removeDeduplicationKey(key);
      return 'removed';
    },
    async pending(key) {
      const id = await queue.getDeduplicationJobId(key);
      if (!id) return undefined;
      const found = await queue.getJob(id);
      if (!found?.id) return undefined;
      const state = await found.getState();
      if (state === 'completed' || state === 'failed') return undefined;
      return { id: found.id, data: found.data, dueAt: found.timestamp + (found.delay ?? 0), state };
    },
    async counts() {
      return await queue.getJobCounts('delayed', 'waiting', 'active', 'completed', 'failed');
    },
    async close() {
      await queue.close();
    },
  };
}
