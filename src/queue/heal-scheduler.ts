// Schedules and cancels heal jobs with BullMQ's own deduplication and delay features: one job
// per (node, fault) deduplication id, rescheduled in place while it is still delayed.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '../store/index.ts';
import { HEAL_JOB, HEAL_QUEUE, type HealJob } from './heal-job.ts';

export type CancelOutcome = 'removed' | 'absent' | 'running';

export interface HealScheduler {
  /** Ensures one job for `job.key`, due `delayMs` from now. Idempotent. */
  schedule(job: HealJob, delayMs: number): Promise<string>;
  /**
   * `schedule` for several keys in one round trip (a webhook's first delivery of many alerts).
   * Not atomic: on an error some jobs may exist, which a retry finds and keeps.
   */
  scheduleAll(entries: readonly { job: HealJob; delayMs: number }[]): Promise<string[]>;
  /** Removes the pending job of `key`; a job already running is left to the worker. */
  cancel(key: string): Promise<CancelOutcome>;
  /** The pending job of `key`, if any (id, data, due time). */
  pending(
    key: string,
  ): Promise<{ id: string; data: HealJob; dueAt: number; state: string } | undefined>;
  counts(): Promise<Record<string, number>>;
  /** Makes the delayed jobs `ids` due now (those that waited for a heal that has ended). */
  wake(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** The heal queue cannot be reached: its Redis connection is not ready. */
export class QueueUnavailableError extends Error {
  readonly code = 'QUEUE_UNAVAILABLE';
}

/** Job retention: enough history for the status pages, bounded so Redis does not grow. */
const retention = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/** Jobs per addBulk pipeline: about 50 ms of Redis time, far below the command timeout. */
const BULK_ADD_CHUNK = 1000;

function jobOptions(job: HealJob, delayMs: number): JobsOptions {
  return {
    delay: delayMs,
    // While the job is delayed, a later delivery moves it to the recomputed due time (a
    // flapping fault is held longer); once it is waiting or running it is left alone.
    deduplication: { id: job.key, reschedule: true },
    // Errors before a heal's record exists (an API or Redis hiccup) are retried with backoff;
    // a heal that started resumes from its record instead.
    attempts: 5,
    backoff: { type: 'exponential', delay: 5000 },
    ...retention,
  };
}

export function bullmqHealScheduler(connection: Redis, prefix = QUEUE_PREFIX): HealScheduler {
  const queue = new Queue<HealJob>(HEAL_QUEUE, { connection, prefix });
  // BullMQ keeps the first job's data when it reschedules a deduplicated job; when the due
  // time moved (a flapping fault held longer), bring the stored payload in line with it.
  const alignRescheduled = async (job: HealJob, id: string | undefined) => {
    if (!job.flapping || !id) return;
    const stored = await queue.getJob(id);
    if (stored && stored.data.dueAt !== job.dueAt && (await stored.getState()) === 'delayed') {
      await stored.updateData({ ...job, scheduledAt: stored.data.scheduledAt });
    }
  };
  // BullMQ re-emits connection errors on the queue; the intake reports them per request.
  queue.on('error', () => undefined);
  // BullMQ waits, without limit, for its connection's first 'ready' before any command, so with
  // Redis down since start every call would hang; the producer fails fast instead.
  const ensureReady = () => {
    if (connection.status !== 'ready') {
      throw new QueueUnavailableError(`Redis connection is ${connection.status}`);
    }
  };
  return {
    async schedule(job, delayMs) {
      ensureReady();
      const added = await queue.add(HEAL_JOB, job, jobOptions(job, delayMs));
      await alignRescheduled(job, added.id);
      return added.id ?? '';
    },
    async scheduleAll(entries) {
      ensureReady();
      const ids: string[] = [];
      // Pipelines of BullMQ's own add scripts, deduplication and delay included; bounded, one
      // after the other, so that no add waits behind thousands of others past the command
      // timeout (each costs Redis about 50 µs).
      for (let start = 0; start < entries.length; start += BULK_ADD_CHUNK) {
        const chunk = entries.slice(start, start + BULK_ADD_CHUNK);
        const added = await queue.addBulk(
          chunk.map(({ job, delayMs }) => ({
            name: HEAL_JOB,
            data: job,
            opts: jobOptions(job, delayMs),
          })),
        );
        await Promise.all(chunk.map(({ job }, i) => alignRescheduled(job, added[i]?.id)));
        ids.push(...added.map((a) => a.id ?? ''));
      }
      return ids;
    },
    async cancel(key) {
      ensureReady();
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
      ensureReady();
      const id = await queue.getDeduplicationJobId(key);
      if (!id) return undefined;
      const found = await queue.getJob(id);
      if (!found?.id) return undefined;
      const state = await found.getState();
      if (state === 'completed' || state === 'failed') return undefined;
      let dueAt = found.timestamp + (found.delay ?? 0);
      if (state === 'delayed') {
        // A rescheduled job keeps its first timestamp but takes the new delay, so the sum above
        // is off by the time between the two deliveries; the delayed set's score (due time in
        // ms × 0x1000 + a sequence number) holds the real due time.
        const score = await connection.zscore(queue.keys.delayed ?? '', found.id);
        if (score !== null) dueAt = Math.floor(Number(score) / 0x1000);
      }
      return { id: found.id, data: found.data, dueAt, state };
    },
    async wake(ids) {
      ensureReady();
      for (const id of ids) {
        const found = await queue.getJob(id);
        // Only a job still waiting for its time: one already running or gone needs nothing.
        if (found && (await found.getState()) === 'delayed') {
          // It may have become due (or been removed) in between: then there is nothing to wake.
          await found.promote().catch(() => undefined);
        }
      }
    },
    async counts() {
      ensureReady();
      return await queue.getJobCounts('delayed', 'waiting', 'active', 'completed', 'failed');
    },
    async close() {
      await queue.close();
    },
  };
}
