// Maintenance windows (pure): per pool, the days and hours, in a time zone, when disruptive steps
// (reboot, drain, replace) may run on a node that still works; outside them such steps wait, as
// kured's reboot windows do. A node that is not Ready is already disrupted: it never waits.
import { z } from 'zod';
import type { RemedyAction } from '../rules/index.ts';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time of day as HH:MM (24 h), e.g. 22:30');

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const maintenanceWindowSchema = z.strictObject({
  /** The pool's nodes: labels that must all match (exact values); `{}` is every node. */
  selector: z.record(z.string().min(1), z.string()).default({}),
  /** Days the window opens on (its start's day, in `timeZone`). */
  days: z
    .array(z.enum(WEEKDAYS))
    .min(1)
    .default([...WEEKDAYS]),
  /** Opens at (inclusive); a window whose end is not after its start runs past midnight. */
  start: clock,
  /** Closes at (exclusive). */
  end: clock,
  timeZone: z
    .string()
    .default('UTC')
    .refine(validTimeZone, 'expected an IANA time zone such as Europe/Berlin or UTC'),
});
export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;

export const maintenanceWindowsSchema = z.array(maintenanceWindowSchema).default([]);

/** Steps that disrupt workloads on a node that still runs them. */
export function disruptsRunningNode(action: RemedyAction): boolean {
  return action === 'reboot' || action === 'drain' || action === 'replace';
}

/** The windows whose selector matches the node's labels. */
export function windowsFor(
  windows: readonly MaintenanceWindow[],
  labels: Readonly<Record<string, string>>,
): MaintenanceWindow[] {
  return windows.filter((w) =>
    Object.entries(w.selector).every(([key, value]) => labels[key] === value),
  );
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and minute of the day of `at` in `timeZone`. */
function localTime(at: number, timeZone: string): { day: number; minute: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as Weekday);
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether `at` falls inside the window.
 *
 * - Local weekday and time in the window's time zone (daylight saving included).
 * - `start` < `end`: open on each listed day from start (inclusive) to end (exclusive).
 * - `end` ≤ `start`: the window runs past midnight: open from start on a listed day until end on
 *   the next day.
 */
export function isInWindow(window: MaintenanceWindow, at: number): boolean {
  const { day, minute } = localTime(at, window.timeZone);
  const start = minutes(window.start);
  const end = minutes(window.end);
  const listed = (d: number) => window.days.includes(WEEKDAYS[(d + 7) % 7]!);
  if (start < end) return listed(day) && minute >= start && minute < end;
  return (listed(day) && minute >= start) || (listed(day - 1) && minute < end);
}

export type WindowDecision =
  { allowed: true } | { allowed: false; detail: string; retryAt: number | undefined };

/**
 * The `window` gate (pure; `now` in epoch ms).
 *
 * - No window applies to the node (none configured, or none whose selector matches): allowed.
 * - Not a disruptive step (reboot, drain, replace): allowed; expert remedies such as a kubelet
 *   restart run at any time.
 * - The node is not Ready: allowed at once (it is already disrupted).
 * - Inside any of the node's windows: allowed.
 * - Otherwise: wait, until the next opening of one of its windows (`retryAt`, found to the
 *   minute within the next 8 days).
 */
export function windowGate(
  windows: readonly MaintenanceWindow[],
  action: RemedyAction,
  nodeReady: boolean,
  now: number,
): WindowDecision {
  if (windows.length === 0 || !disruptsRunningNode(action) || !nodeReady) return { allowed: true };
  if (windows.some((w) => isInWindow(w, now))) return { allowed: true };
  let retryAt: number | undefined;
  const step = 60_000;
  const first = Math.ceil(now / step) * step;
  for (let t = first; t < now + 8 * 24 * 3600_000; t += step) {
    if (windows.some((w) => isInWindow(w, t))) {
      retryAt = t;
      break;
    }
  }
  const describe = windows
    .map((w) => `${w.days.join(',')} ${w.start}-${w.end} ${w.timeZone}`)
    .join('; ');
  return {
    allowed: false,
    detail: `${action} waits for a maintenance window (${describe}); the node is still Ready`,
    retryAt,
  };
}
