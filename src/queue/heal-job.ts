// The heal queue's contract (see queue/README.md): queue and job names, payload, idempotency key.
import { z } from 'zod';

export const HEAL_QUEUE = 'heal';
export const HEAL_JOB = 'heal';
/** Bumped when the payload changes incompatibly; workers refuse versions they do not know. */
export const HEAL_JOB_VERSION = 1;

export const healJobSchema = z.object({
  version: z.literal(HEAL_JOB_VERSION),
  /** Idempotency key and BullMQ deduplication id: `heal:<node>:<fault>`. */
  key: z.string(),
  node: z.string(),
  fault: z.string(),
  /** The alert that opened the episode (first firing seen). */
  alertname: z.string(),
  fingerprint: z.string(),
  labels: z.record(z.string(), z.string()),
  /** When the fault began per Prometheus, and when the heal is due (startsAt + debounce). */
  startsAt: z.iso.datetime(),
  dueAt: z.iso.datetime(),
  /** When nodeheal first scheduled the job. */
  scheduledAt: z.iso.datetime(),
  flapping: z.boolean(),
});

export type HealJob = z.infer<typeof healJobSchema>;
