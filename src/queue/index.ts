// The heal queue: names, payload, Redis connection options, and the producer side.
export {
  HEAL_JOB,
  HEAL_JOB_VERSION,
  HEAL_QUEUE,
  MAX_ANNOTATION_LENGTH,
  MAX_URL_LENGTH,
  SHOWN_ANNOTATIONS,
  carriedUrl,
  healJobSchema,
  shownAnnotations,
  type HealJob,
} from './heal-job.ts';
export { producerConnection, workerConnection } from './redis-connection.ts';
export { bullmqHealScheduler, type CancelOutcome, type HealScheduler } from './heal-scheduler.ts';
export { type ProcessResult, startHealWorker } from './heal-worker.ts';
