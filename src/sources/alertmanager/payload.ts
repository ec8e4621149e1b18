// The Alertmanager webhook payload, version 4, as a zod schema: every field Alertmanager has sent,
// from the old releases (no `fingerprint`, no `truncatedAlerts`) to the current ones
// (`notification_reason`, `routeLabels`). Fields this schema does not know are tolerated, so a
// newer Alertmanager is not rejected; fields it knows must have the right type. The schema keeps
// the wire shape (timestamps stay strings); `index.ts` turns it into source-neutral alerts.
import { z } from 'zod';
import { expected, formatIssues, kv, status, str, timestamp, typeName } from '../wire.ts';

export { formatPath, parseRfc3339 } from '../wire.ts';

/** The only webhook payload version nodeheal understands. */
export const SUPPORTED_VERSION = '4';

/** Go's zero `time.Time`, which Alertmanager sends as `endsAt` of an alert that has not ended. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const version = z.literal(SUPPORTED_VERSION, {
  error: (issue) =>
    `unsupported version ${issue.input === undefined ? '(missing)' : JSON.stringify(issue.input)}; ` +
    `only Alertmanager webhook version "${SUPPORTED_VERSION}" is supported`,
});

/**
 * The same check as `kv` without zod walking every label: a plain object whose values are all
 * strings. Used by the fast pass of `parseAlertmanagerPayload` (labels are most of a payload).
 */
const kvFast = z.custom<Record<string, string>>(isStringRecord);

function isStringRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // A JSON "__proto__" key is zod's special case (it drops it): leave that to the detailed pass.
  if (Object.hasOwn(value, '__proto__')) return false;
  for (const v of Object.values(value)) if (typeof v !== 'string') return false;
  return true;
}

/** The alert and payload schemas, with `labels` and friends checked by `kvSchema`. */
function schemas(kvSchema: typeof kv | typeof kvFast) {
  /** One alert inside the payload (Alertmanager's `template.Alert`). */
  const alert = z.looseObject(
    {
      status,
      labels: kvSchema,
      annotations: kvSchema,
      startsAt: timestamp,
      /** `0001-01-01T00:00:00Z` (Go's zero time) while the alert has not ended. */
      endsAt: timestamp,
      generatorURL: str,
      /** Absent before Alertmanager 0.19. */
      fingerprint: str.optional(),
    },
    { error: expected('an alert object') },
  );

  /** The whole webhook body (Alertmanager's `webhook.Message`). */
  const payload = z.looseObject({
    version,
    groupKey: str,
    /** Number of alerts dropped by the receiver's `max_alerts`; absent in older releases. */
    truncatedAlerts: z
      .number({ error: expected('a non-negative integer') })
      .int({ error: 'expected a non-negative integer' })
      .min(0, { error: 'expected a non-negative integer' })
      .optional(),
    status,
    receiver: str,
    groupLabels: kvSchema,
    commonLabels: kvSchema,
    commonAnnotations: kvSchema,
    externalURL: str,
    /** Why this notification was sent (newer releases only). */
    notification_reason: str.optional(),
    /** Labels of the matched route (newer releases only). */
    routeLabels: kvSchema.optional(),
    alerts: z.array(alert, { error: expected('an array of alerts') }),
  });
  return { alert, payload };
}

const detailed = schemas(kv);
const fast = schemas(kvFast);

export const alertmanagerAlertSchema = detailed.alert;
export const alertmanagerPayloadSchema = detailed.payload;
/** The fast pass; exported for the test that it accepts nothing the detailed one rejects. */
export const fastAlertmanagerPayloadSchema = fast.payload;

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlertSchema>;

export type ParsePayloadResult =
  { ok: true; payload: AlertmanagerPayload } | { ok: false; error: string };

/**
 * Validates a webhook body (already JSON-decoded).
 *
 * - Not an object: rejected, path `body`.
 * - `version` other than the string "4" (or missing): rejected with only the version error, so
 *   the operator sees "unsupported version" rather than a list of fields that differ.
 * - Otherwise every issue is reported as `path: message`, e.g.
 *   `alerts[2].startsAt: expected an RFC3339 timestamp`, up to five, then "(and N more)".
 * - Unknown fields are kept in the result and never rejected.
 */
export function parseAlertmanagerPayload(body: unknown): ParsePayloadResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: `body: expected a JSON object, got ${typeName(body)}` };
  }
  const versionResult = version.safeParse((body as Record<string, unknown>).version);
  if (!versionResult.success) {
    return { ok: false, error: formatIssues(versionResult.error.issues, ['version']) };
  }
  // Valid payloads (nearly all) take the fast pass, whose results equal the detailed schema's; the
  // detailed schema runs only for the rest, to accept the odd case or name what is wrong.
  const quick = fast.payload.safeParse(body);
  if (quick.success) return { ok: true, payload: quick.data };
  const result = alertmanagerPayloadSchema.safeParse(body);
  if (result.success) return { ok: true, payload: result.data };
  return { ok: false, error: formatIssues(result.error.issues) };
}
