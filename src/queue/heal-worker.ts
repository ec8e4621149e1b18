// The consumer side of the heal queue: a BullMQ worker with bounded concurrency, stalled-job
// recovery, and a graceful stop that leaves running heals resumable.
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '../store/index.ts';
import { HEAL_JOB_VERSION, HEAL_QUEUE, healJobSchema, type HealJob } from './heal-job.ts';

export type ProcessResult =
  | { kind: 'done'; summary: string }
  /** Not now: run again at `until` (deferred by a gate, a node lock, or a shutdown). */
  | { kind: 'later'; until: number; reason: string };

export interface HealWorkerOptions {
  concurrency: number;
  /** How long a job's lock lasts without renewal; a worker that dies loses it after this. */
  lockDurationMs: number;
  /** How often stalled jobs (lock lost: their worker died) are looked for and handed out again. */
  stalledIntervalMs: number;
  prefix?: string;
}

export interface HealWorker {
  /** Stops taking jobs; running heals are interrupted at their next safe point and re-queued. */
  close(): Promise<void>;
  worker: Worker<HealJob>;
}

export function startHealWorker(
  connection: Redis,
  process: (job: HealJob, jobId: string, signal: AbortSignal) => Promise<ProcessResult>,
  options: HealWorkerOptions,
): HealWorker {
  const shutdown = new AbortController();
  const worker = new Worker<HealJob>(
    HEAL_QUEUE,
    async (job: Job<HealJob>, token?: string) => {
      const parsed = healJobSchema.safeParse(job.data);
      if (!parsed.success) {
        const version = (job.data as { version?: unknown }).version;
        throw new UnrecoverableError(
          version !== HEAL_JOB_VERSION
            ? `heal job version ${String(version)} is not supported by this worker`
            : `invalid heal job: ${parsed.error.message}`,
        );
      }
      const result = await process(parsed.data, job.id ?? '', shutdown.signal);
      if (result.kind === 'later') {
        // BullMQ's own delay: the job keeps its id (and so its heal record) and comes back.
        await job.moveToDelayed(result.until, token);
        throw new DelayedError(result.reason);
      }
      return result.summary;
    },
    {
      connection,
      prefix: options.prefix ?? QUEUE_PREFIX,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 10,
      // Transient errors before a heal starts (API hiccup) are retried by BullMQ with backoff.
      autorun: true,
    },
  );
  worker.on('error', () => undefined);
  return {
    worker,
    async close() {
      shutdown.abort();
      await worker.close();
    },
  };
}
