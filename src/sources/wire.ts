// What every alert source's webhook payload is made of: RFC 3339 timestamps, string maps,
// firing/resolved, and error messages that name the field (`alerts[2].startsAt: ...`).
import { z } from 'zod';
import type { AlertStatus, ReceivedAlert } from '../triage/index.ts';

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
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Error text for a schema: "required (a string)" when absent, "expected a string, got number". */
export function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined
      ? `required (${what})`
      : `expected ${what}, got ${typeName(issue.input)}`;
}

export const str = z.string({ error: expected('a string') });

export const timestamp = z
  .string({ error: expected('an RFC3339 timestamp') })
  .refine((value) => parseRfc3339(value) !== undefined, {
    error: 'expected an RFC3339 timestamp',
  });

export const status = z.enum(['firing', 'resolved'], {
  error: (issue) =>
    issue.input === undefined
      ? 'required ("firing" or "resolved")'
      : `expected "firing" or "resolved", got ${JSON.stringify(issue.input) ?? typeName(issue.input)}`,
});

/** Alertmanager's `KV`: label or annotation names to string values. */
export const kv = z.record(z.string(), z.string({ error: expected('a string value') }), {
  error: expected('an object of string values'),
});

/** How many schema issues one error message lists before summarising the rest. */
const MAX_ISSUES = 5;

export function formatIssues(
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

/** The alert fields Alertmanager's and Grafana's payloads share (Grafana's adds its own). */
export interface WireAlert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint?: string | undefined;
}

/**
 * One alert of a validated payload, source-neutral: its own status (not the group's), labels
 * and annotations copied, Go's zero `endsAt` (still firing) as undefined, an empty fingerprint
 * or generatorURL as absent; the payload's `externalURL` (the sender's page) kept as `sourceURL`.
 */
export function receivedAlert(alert: WireAlert, externalURL = ''): ReceivedAlert {
  const startsAt = parseRfc3339(alert.startsAt);
  const endsAt = parseRfc3339(alert.endsAt);
  if (startsAt === undefined || endsAt === undefined) {
    // The source's schema already checked both; reaching here means it was bypassed.
    throw new TypeError('receivedAlert needs an alert its source has validated');
  }
  const result: ReceivedAlert = {
    status: alert.status,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    startsAt,
  };
  if (endsAt.getUTCFullYear() > 1) result.endsAt = endsAt;
  if (alert.fingerprint) result.fingerprint = alert.fingerprint;
  if (alert.generatorURL !== '') result.generatorURL = alert.generatorURL;
  // The sender's own page (Alertmanager's or Grafana's externalURL), for the status page's link.
  if (externalURL !== '') result.sourceURL = externalURL;
  return result;
}
