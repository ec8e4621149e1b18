// The zod schema of a rule file as written (durations as strings, defaults not yet applied), and
// the checks that span several entries (unique names, one fault per alert selector).
import { z } from 'zod';
import {
  APPROVAL_MODES,
  GENERIC_FAULT_NAME,
  LADDER_ORDERS,
  REMEDY_ACTIONS,
} from './catalog-types.ts';
import { parseDuration } from './duration.ts';

const FAULT_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// Prometheus requires alert names to be valid metric names.
const ALERT_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Prometheus label names; names starting with "__" are reserved for Prometheus itself.
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A readable name for a YAML value in messages: `"2x"`, `number 2`, `a list`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

function duration(bounds: { minMs: number; maxMs: number }) {
  return z
    .string({
      error: (issue) =>
        `expected a duration string such as "120s", "2m" or "1h", got ${describeValue(issue.input)}`,
    })
    .check((ctx) => {
      let ms: number;
      try {
        ms = parseDuration(ctx.value);
      } catch (error) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: (error as Error).message });
        return;
      }
      if (ms < bounds.minMs || ms > bounds.maxMs) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `duration ${JSON.stringify(ctx.value)} is out of range: must be ${bounds.minMs === 0 ? 'at least 0s' : 'more than 0s'} and at most ${bounds.maxMs / HOUR_MS}h`,
        });
      }
    });
}

const debounceSchema = duration({ minMs: 0, maxMs: DAY_MS });
const timeoutSchema = duration({ minMs: 1, maxMs: DAY_MS });

const flapSchema = z.strictObject({
  maxTransitions: z.int().min(1).max(1000).optional(),
  window: duration({ minMs: 1, maxMs: 7 * DAY_MS }).optional(),
  holdFor: duration({ minMs: 0, maxMs: DAY_MS }).optional(),
});

const stepSchema = z.strictObject({
  action: z.enum(REMEDY_ACTIONS, {
    error: (issue) =>
      `unknown action ${describeValue(issue.input)}; expected one of: ${REMEDY_ACTIONS.join(', ')}`,
  }),
  timeout: timeoutSchema,
  skipBelowSuccessRate: z
    .strictObject({
      rate: z.number().min(0).max(1),
      overLast: z.int().min(1).max(10_000),
    })
    .optional(),
});

const ladderSchema = z.array(stepSchema).min(1, { error: 'a ladder needs at least one step' });

const alertSelectorSchema = z.strictObject({
  alertname: z.string().regex(ALERT_NAME, {
    error: (issue) =>
      `invalid alert name ${describeValue(issue.input)}: Prometheus alert names match ${ALERT_NAME.source}`,
  }),
  matchers: z
    .record(
      z.string().regex(LABEL_NAME, {
        error: (issue) =>
          `invalid label name ${describeValue(issue.input)}: Prometheus label names match [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__"`,
      }),
      z.string({
        error: (issue) =>
          `label values are strings (exact match), got ${describeValue(issue.input)}; quote it`,
      }),
    )
    .optional(),
  debounce: debounceSchema.optional(),
});

const leaveAloneSchema = z.strictObject({
  alertname: alertSelectorSchema.shape.alertname,
  matchers: alertSelectorSchema.shape.matchers,
  reason: z.string().trim().min(1, { error: 'say why nodeheal leaves this alert alone' }),
});

const approvalSchema = z.enum(APPROVAL_MODES, {
  error: (issue) =>
    `unknown approval ${describeValue(issue.input)}; expected one of: ${APPROVAL_MODES.join(', ')}`,
});

const faultSchema = z.strictObject({
  name: z.string().regex(FAULT_NAME, {
    error: (issue) =>
      `fault name ${describeValue(issue.input)} must be kebab-case (lower-case letters, digits and single dashes)`,
  }),
  description: z.string().trim().min(1, { error: 'description must not be empty' }),
  alerts: z.array(alertSelectorSchema).min(1, { error: 'a fault needs at least one alert' }),
  debounce: debounceSchema.optional(),
  flap: flapSchema.optional(),
  ladder: ladderSchema,
  order: z
    .enum(LADDER_ORDERS, {
      error: (issue) =>
        `unknown order ${describeValue(issue.input)}; expected one of: ${LADDER_ORDERS.join(', ')}`,
    })
    .optional(),
  approval: approvalSchema.optional(),
});

const genericSchema = z.strictObject({
  description: z.string().trim().min(1).optional(),
  debounce: debounceSchema.optional(),
  flap: flapSchema.optional(),
  ladder: ladderSchema,
  approval: approvalSchema.optional(),
});

/** The rule file as written. */
export const catalogFileSchema = z.strictObject({
  version: z.literal(1, {
    error: (issue) =>
      `unsupported catalog version ${describeValue(issue.input)}; this nodeheal reads version 1`,
  }),
  defaults: z
    .strictObject({
      debounce: debounceSchema.optional(),
      flap: flapSchema.optional(),
    })
    .optional(),
  generic: genericSchema.optional(),
  faults: z.array(faultSchema),
  leaveAlone: z.array(leaveAloneSchema).optional(),
});

export type CatalogFile = z.infer<typeof catalogFileSchema>;
export type FaultFile = z.infer<typeof faultSchema>;
export type StepFile = z.infer<typeof stepSchema>;

/** A problem found across entries; `related` points at the entry it conflicts with. */
export interface CrossIssue {
  path: Array<string | number>;
  message: string;
  related?: Array<string | number>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function selectorMatchers(selector: Record<string, unknown>): Record<string, string> | undefined {
  const matchers = selector.matchers ?? {};
  if (!isRecord(matchers)) return undefined;
  const out: Record<string, string> = {};
  for (const [label, value] of Object.entries(matchers)) {
    if (typeof value !== 'string') return undefined;
    out[label] = value;
  }
  return out;
}

function canonical(alertname: string, matchers: Record<string, string>): string {
  const parts = Object.keys(matchers)
    .sort()
    .map((label) => `${label}=${JSON.stringify(matchers[label])}`);
  return `${alertname}{${parts.join(',')}}`;
}

/** Every label both selectors name has the same value: some alert can match both. */
function compatible(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.keys(a).every((label) => !Object.hasOwn(b, label) || b[label] === a[label]);
}

function isSubset(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.keys(a).every((label) => Object.hasOwn(b, label) && b[label] === a[label]);
}

function checkLadder(ladder: unknown, path: Array<string | number>, issues: CrossIssue[]): void {
  if (!Array.isArray(ladder)) return;
  const last = ladder.length - 1;
  ladder.forEach((step: unknown, index) => {
    if (isRecord(step) && step.action === 'replace' && index < last) {
      issues.push({
        path: [...path, index, 'action'],
        message: `"replace" must be the last step: the ${last - index} step(s) after it could never run`,
      });
    }
  });
}

/**
 * Checks that span entries. Runs on the raw value so it can report alongside shape errors; it
 * skips entries whose shape is wrong (the schema reports those).
 *
 * - Fault names are unique, and `unknown` is reserved for the generic fault.
 * - An alertname with a given set of matchers belongs to one fault only.
 * - Two selectors of different faults for the same alertname must not both match one alert,
 *   unless one's matchers are a subset of the other's (then the more specific selector wins).
 * - `replace` is the last step of any ladder (the node is gone after it).
 */
export function crossCheck(raw: unknown): CrossIssue[] {
  const issues: CrossIssue[] = [];
  if (!isRecord(raw)) return issues;
  if (isRecord(raw.generic)) checkLadder(raw.generic.ladder, ['generic', 'ladder'], issues);
  if (!Array.isArray(raw.faults)) return issues;

  const names = new Map<string, number>();
  const selectors: Array<{
    fault: number;
    faultName: string;
    alertname: string;
    matchers: Record<string, string>;
    path: Array<string | number>;
  }> = [];
  const seen = new Map<string, (typeof selectors)[number]>();

  raw.faults.forEach((fault: unknown, faultIndex) => {
    if (!isRecord(fault)) return;
    const name = typeof fault.name === 'string' ? fault.name : `#${faultIndex}`;
    if (typeof fault.name === 'string') {
      if (fault.name === GENERIC_FAULT_NAME) {
        issues.push({
          path: ['faults', faultIndex, 'name'],
          message: `fault name "${GENERIC_FAULT_NAME}" is reserved for the generic ladder; configure it under "generic:"`,
        });
      }
      const first = names.get(fault.name);
      if (first === undefined) names.set(fault.name, faultIndex);
      else {
        issues.push({
          path: ['faults', faultIndex, 'name'],
          message: `duplicate fault name "${fault.name}"`,
          related: ['faults', first, 'name'],
        });
      }
    }
    checkLadder(fault.ladder, ['faults', faultIndex, 'ladder'], issues);

    if (!Array.isArray(fault.alerts)) return;
    fault.alerts.forEach((selector: unknown, selectorIndex) => {
      if (!isRecord(selector) || typeof selector.alertname !== 'string') return;
      const matchers = selectorMatchers(selector);
      if (matchers === undefined) return;
      const entry = {
        fault: faultIndex,
        faultName: name,
        alertname: selector.alertname,
        matchers,
        path: ['faults', faultIndex, 'alerts', selectorIndex, 'alertname'],
      };
      const key = canonical(selector.alertname, matchers);
      const duplicate = seen.get(key);
      if (duplicate !== undefined) {
        issues.push({
          path: entry.path,
          message:
            duplicate.fault === faultIndex
              ? `alert ${key} is listed twice in fault "${name}"`
              : `alert ${key} already belongs to fault "${duplicate.faultName}"; an alert selector maps to one fault`,
          related: duplicate.path,
        });
        return;
      }
      for (const other of selectors) {
        if (other.fault === faultIndex || other.alertname !== entry.alertname) continue;
        if (!compatible(other.matchers, matchers)) continue;
        if (isSubset(other.matchers, matchers) || isSubset(matchers, other.matchers)) continue;
        issues.push({
          path: entry.path,
          message: `alert ${key} overlaps ${canonical(other.alertname, other.matchers)} of fault "${other.faultName}": one alert could match both; add a matcher that tells them apart or make one selector a subset of the other`,
          related: other.path,
        });
      }
      seen.set(key, entry);
      selectors.push(entry);
    });
  });
  return issues;
}
