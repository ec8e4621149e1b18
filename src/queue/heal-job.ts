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
  /**
   * The alert's annotations the status page shows (`SHOWN_ANNOTATIONS`), each cut to
   * `MAX_ANNOTATION_LENGTH`; absent in jobs scheduled before they were carried.
   */
  annotations: z.record(z.string(), z.string()).optional(),
  /** The alert's generatorURL (its Prometheus expression), cut to `MAX_URL_LENGTH`; may be absent. */
  generatorURL: z.string().optional(),
  /**
   * The source that delivered the opening alert (`alertmanager`, `grafana`); absent in jobs
   * scheduled before it was carried. Only Alertmanager's alerts are confirmed with Alertmanager.
   */
  source: z.string().optional(),
  /** The sender's own page (Alertmanager's `externalURL`), cut to `MAX_URL_LENGTH`; may be absent. */
  sourceURL: z.string().optional(),
});

/** Annotations a heal job carries (and its status page shows): what a human reads first. */
export const SHOWN_ANNOTATIONS = ['summary', 'description', 'runbook_url'] as const;
/** Longest annotation value a job carries (longer ones are cut and end with `…`). */
export const MAX_ANNOTATION_LENGTH = 1024;
/** Longest generatorURL a job carries (a longer one is dropped: a cut URL is a wrong link). */
export const MAX_URL_LENGTH = 2048;

function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/**
 * The part of an alert's annotations a heal job carries: `SHOWN_ANNOTATIONS` only, non-empty,
 * each cut to `MAX_ANNOTATION_LENGTH` characters.
 */
export function shownAnnotations(
  annotations: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SHOWN_ANNOTATIONS) {
    const value = annotations[name];
    if (value) out[name] = cut(value, MAX_ANNOTATION_LENGTH);
  }
  return out;
}

/** A generatorURL as a job carries it: undefined when empty or longer than `MAX_URL_LENGTH`. */
export function carriedUrl(url: string | undefined): string | undefined {
  return url && url.length <= MAX_URL_LENGTH ? url : undefined;
}

export type HealJob = z.infer<typeof healJobSchema>;
