// Grafana Alerting's webhook contact point payload (Grafana 9 and later, `version` "1"), as a
// zod schema. It is Alertmanager's notification with Grafana's own fields added: per notification
// `orgId`, `state`, `title`, `message`; per alert `values`, `valueString`, `silenceURL`,
// `dashboardURL`, `panelURL`, `imageURL`. Fields this schema does not know are tolerated; fields
// it knows must have the right type.
import { z } from 'zod';
import { expected, formatIssues, kv, status, str, timestamp, typeName } from '../wire.ts';

/** The payload versions Grafana has sent; Alertmanager's "4" is for POST /webhook/alertmanager. */
export const GRAFANA_VERSIONS = ['1'] as const;

const version = z.enum(GRAFANA_VERSIONS, {
  error: (issue) =>
    `unsupported version ${issue.input === undefined ? '(missing)' : JSON.stringify(issue.input)}; ` +
    `Grafana Alerting webhook version "1" is supported` +
    (issue.input === '4' ? ' (version "4" is Alertmanager\'s: POST /webhook/alertmanager)' : ''),
});

const url = str.optional();

export const grafanaAlertSchema = z.looseObject(
  {
    status,
    labels: kv,
    annotations: kv,
    startsAt: timestamp,
    /** `0001-01-01T00:00:00Z` while the alert fires. */
    endsAt: timestamp,
    generatorURL: str,
    fingerprint: str,
    silenceURL: url,
    dashboardURL: url,
    panelURL: url,
    imageURL: url,
    /** The query and expression results that fired (refId -> value); null when there are none. */
    values: z
      .record(z.string(), z.number({ error: expected('a number') }).nullable())
      .nullable()
      .optional(),
    valueString: url,
  },
  { error: expected('an alert object') },
);

export const grafanaPayloadSchema = z.looseObject({
  version,
  receiver: str,
  status,
  orgId: z.number({ error: expected('an organisation id') }).int(),
  alerts: z.array(grafanaAlertSchema, { error: expected('an array of alerts') }),
  groupLabels: kv,
  commonLabels: kv,
  commonAnnotations: kv,
  externalURL: str,
  groupKey: str,
  truncatedAlerts: z
    .number({ error: expected('a non-negative integer') })
    .int()
    .min(0)
    .optional(),
  /** "alerting" or "ok" (older releases: "firing"/"resolved"); informative only. */
  state: str.optional(),
  title: str.optional(),
  message: str.optional(),
});

export type GrafanaPayload = z.infer<typeof grafanaPayloadSchema>;
export type GrafanaAlert = z.infer<typeof grafanaAlertSchema>;

export type ParseGrafanaResult =
  { ok: true; payload: GrafanaPayload } | { ok: false; error: string };

/**
 * Validates a Grafana webhook body (already JSON-decoded). A wrong or missing `version` is
 * reported alone; otherwise every issue as `path: message` (up to five).
 */
export function parseGrafanaPayload(body: unknown): ParseGrafanaResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: `body: expected a JSON object, got ${typeName(body)}` };
  }
  const versionResult = version.safeParse((body as Record<string, unknown>).version);
  if (!versionResult.success) {
    return { ok: false, error: formatIssues(versionResult.error.issues, ['version']) };
  }
  const result = grafanaPayloadSchema.safeParse(body);
  if (result.success) return { ok: true, payload: result.data };
  return { ok: false, error: formatIssues(result.error.issues) };
}
