// The Alertmanager webhook payload, version 4, as a zod schema: every field Alertmanager has sent,
// from the old releases (no `fingerprint`, no `truncatedAlerts`) to the current ones
// (`notification_reason`, `routeLabels`). Fields this schema does not know are tolerated, so a
// newer Alertmanager is not rejected; fields it knows must have the right type. The schema keeps
// the wire shape (timestamps stay strings); `normalise.ts` turns it into `NodeAlert`s.
import { z } from 'zod';

/** The only webhook payload version nodeheal understands. */
export const SUPPORTED_VERSION = '4';

/** Go's zero `time.Time`, which Alertmanager sends as `endsAt` of an alert that has not ended. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp (`2024-05-01T10:00:00.123456789+02:00`) into a Date, or returns
 * undefined when the string is not one.
 *
 * - Calendar fields are range-checked (no 31 February; JavaScript's own parser would roll over).
 * - Fractions beyond milliseconds (Go sends nanoseconds) are truncated, not rounded.
 * - Years below 100 are taken literally (Go's zero time is year 1, not 1901).
 * - Leap seconds (`:60`) are rejected: Go cannot produce them.
 */
export function parseRfc3339(value: string): Date | undefined {
  // Longer than any RFC 3339 timestamp: not one, and not worth remembering.
  if (value.length > 40) return undefined;
  let ms = parsedTimestamps.get(value);
  if (ms === undefined) {
    ms = parseRfc3339Millis(value);
    // Cleared rather than evicted one by one: the set of live timestamps is small and refills.
    if (parsedTimestamps.size >= PARSED_TIMESTAMPS_MAX) parsedTimestamps.clear();
    parsedTimestamps.set(value, ms);
  }
  return ms === null ? undefined : new Date(ms);
}

/**
 * Timestamps already parsed. Every alert is parsed twice (validation, then normalisation) and
 * Alertmanager repeats the same startsAt for as long as an alert fires, and the same zero endsAt.
 */
const parsedTimestamps = new Map<string, number | null>();
const PARSED_TIMESTAMPS_MAX = 10_000;

function parseRfc3339Millis(value: string): number | null {
  const m = RFC3339.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offHours = Number(m[10]);
    const offMinutes = Number(m[11]);
    if (offHours > 23 || offMinutes > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offHours * 60 + offMinutes);
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Human name of a JSON value's type, for error messages ("got number"). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Error text for a schema: "required (a string)" when absent, "expected a string, got number". */
function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined
      ? `required (${what})`
      : `expected ${what}, got ${typeName(issue.input)}`;
}

const str = z.string({ error: expected('a string') });

const timestamp = z
  .string({ error: expected('an RFC3339 timestamp') })
  .refine((value) => parseRfc3339(value) !== undefined, {
    error: 'expected an RFC3339 timestamp',
  });

const status = z.enum(['firing', 'resolved'], {
  error: (issue) =>
    issue.input === undefined
      ? 'required ("firing" or "resolved")'
      : `expected "firing" or "resolved", got ${JSON.stringify(issue.input) ?? typeName(issue.input)}`,
});

/** Alertmanager's `KV`: label or annotation names to string values. */
const kv = z.record(z.string(), z.string({ error: expected('a string value') }), {
  error: expected('an object of string values'),
});

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

/** How many schema issues one error message lists before summarising the rest. */
const MAX_ISSUES = 5;

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

function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string {
  const shown = issues
    .slice(0, MAX_ISSUES)
    .map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issue.message}`);
  const rest = issues.length - shown.length;
  return shown.join('; ') + (rest > 0 ? ` (and ${rest} more)` : '');
}

/** `['alerts', 2, 'labels', 'a.b']` -> `alerts[2].labels["a.b"]`; `[]` -> `body`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) {
      out += out === '' ? segment : `.${segment}`;
    } else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
