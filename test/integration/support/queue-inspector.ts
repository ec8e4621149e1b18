// Reads the heal queue's own state in Redis (BullMQ), the way an operator would.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HEAL_QUEUE, type HealJob } from '../../../src/queue/index.ts';

export interface QueueInspector {
  /** Jobs of a dedupe key in any state, with their due time. */
  jobsFor(key: string): Promise<{ id: string; state: string; data: HealJob; dueAt: number }[]>;
  close(): Promise<void>;
}

export function inspectQueue(redisUrl: string): QueueInspector {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Outage tests stop Redis on purpose: reconnect quietly.
  connection.on('error', () => undefined);
  const queue = new Queue<HealJob>(HEAL_QUEUE, { connection, prefix: 'nodeheal' });
  return {
    async jobsFor(key) {
      const states = [
        'delayed',
        'waiting',
        'active',
        'completed',
        'failed',
        'prioritized',
      ] as const;
      const found = [];
      for (const state of states) {
        for (const job of await queue.getJobs([state], 0, -1)) {
          if (job.data.key === key && job.id) {
            // A rescheduled job keeps its first timestamp: the delayed set's score (due ms
            // times 0x1000 plus a sequence number) is the real due time.
            const score =
              state === 'delayed'
                ? await connection.zscore(queue.keys.delayed ?? '', job.id)
                : null;
            const dueAt =
              score === null
                ? job.timestamp + (job.delay ?? 0)
                : Math.floor(Number(score) / 0x1000);
            found.push({ id: job.id, state, data: job.data, dueAt });
          }
        }
      }
      return found;
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
