// How long the oldest due heal job has waited for a worker (`nodeheal_queue_due_backlog_seconds`),
// read by `serve` at scrape time: it runs when no worker does, which is what it must show.
//
// - A delayed job whose due time has passed: workers promote due jobs, so with none running it
//   stays delayed; the delayed set's score (due ms × 0x1000 + a sequence number) is its due time.
// - A waiting job: due at its timestamp plus its delay (a job rescheduled while delayed keeps
//   its first timestamp, so this can only make it look older than it is).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { HEAL_QUEUE } from '../queue/index.ts';
import { QUEUE_PREFIX } from '../store/index.ts';

export interface DueBacklog {
  /** Seconds the oldest due job has waited; 0 when none is due. */
  seconds(): Promise<number>;
  close(): Promise<void>;
}

export function dueBacklog(connection: Redis, now: () => number = Date.now): DueBacklog {
  const queue = new Queue(HEAL_QUEUE, { connection, prefix: QUEUE_PREFIX });
  return {
    async seconds() {
      const at = now();
      let oldestDue = at;
      const delayedKey = queue.keys.delayed;
      if (delayedKey) {
        const [, score] = await connection.zrange(delayedKey, '0', '0', 'WITHSCORES');
        if (score !== undefined)
          oldestDue = Math.min(oldestDue, Math.floor(Number(score) / 0x1000));
      }
      const [waiting] = await queue.getWaiting(0, 0);
      if (waiting) oldestDue = Math.min(oldestDue, waiting.timestamp + (waiting.delay ?? 0));
      return Math.max(0, (at - oldestDue) / 1000);
    },
    close: () => queue.close(),
  };
}
