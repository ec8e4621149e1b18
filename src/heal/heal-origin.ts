// Why a heal started, as its record keeps it for the status pages: the alert that opened it
// (labels, shown annotations, links to its expression and its sender) and when nodeheal received
// it and when it became due.
import { z } from 'zod';

/** Why a heal started: the alert that opened it, and when nodeheal received it (status pages). */
export const healOriginSchema = z.object({
  alertname: z.string(),
  fingerprint: z.string(),
  labels: z.record(z.string(), z.string()),
  /** The annotations the job carried (summary, description, runbook_url; each capped). */
  annotations: z.record(z.string(), z.string()).default({}),
  /** The alert's generatorURL (its Prometheus expression), or ''. */
  generatorURL: z.string().default(''),
  /** The sender's own page (Alertmanager's or Grafana's externalURL), or ''. */
  sourceURL: z.string().default(''),
  /** When nodeheal first received the alert and scheduled the heal (the job's scheduledAt). */
  receivedAt: z.number(),
  /** When the heal became due (startsAt + debounce, later for a flapping fault). */
  dueAt: z.number(),
});

export type HealOrigin = z.infer<typeof healOriginSchema>;

/** What a heal's origin is made from: a heal job (queue/heal-job.ts) has these fields. */
export interface OriginAlert {
  alertname: string;
  fingerprint: string;
  labels: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>> | undefined;
  generatorURL?: string | undefined;
  sourceURL?: string | undefined;
  /** ISO 8601 times. */
  scheduledAt: string;
  dueAt: string;
}

/** The origin of a heal from its job's alert; null when a time in it does not parse. */
export function healOrigin(alert: OriginAlert): HealOrigin | null {
  const receivedAt = Date.parse(alert.scheduledAt);
  const dueAt = Date.parse(alert.dueAt);
  if (!Number.isFinite(receivedAt) || !Number.isFinite(dueAt)) return null;
  return {
    alertname: alert.alertname,
    fingerprint: alert.fingerprint,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    generatorURL: alert.generatorURL ?? '',
    sourceURL: alert.sourceURL ?? '',
    receivedAt,
    dueAt,
  };
}
