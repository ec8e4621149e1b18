// Loads the expert-rule catalog from YAML text: syntax, shape and cross-entry checks, every
// error with the line and column it points at.
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { GENERIC_FAULT_NAME } from './catalog-types.ts';
import type {
  Catalog,
  CatalogError,
  Fault,
  FlapPolicy,
  LadderStep,
  LoadCatalogResult,
} from './catalog-types.ts';
import { catalogFileSchema, crossCheck, describeValue } from './catalog-schema.ts';
import type { CatalogFile, FaultFile, StepFile } from './catalog-schema.ts';
import { parseDuration } from './duration.ts';
import { formatPath, locate } from './yaml-positions.ts';
import type { PathSegment } from './yaml-positions.ts';

/** Debounce when neither the fault nor `defaults:` sets one (DESIGN.md safety table). */
export const DEFAULT_DEBOUNCE_MS = 120_000;

/** Flap policy when neither the fault nor `defaults:` sets one. */
export const DEFAULT_FLAP: FlapPolicy = {
  maxTransitions: 4,
  windowMs: 30 * 60_000,
  holdForMs: 10 * 60_000,
};

/** The generic ladder when the file has no `generic:` section: cordon → drain → replace. */
export const DEFAULT_GENERIC_LADDER: readonly LadderStep[] = [
  { action: 'cordon', timeoutMs: 60_000 },
  { action: 'drain', timeoutMs: 10 * 60_000 },
  { action: 'replace', timeoutMs: 20 * 60_000 },
];

const DEFAULT_GENERIC_DESCRIPTION =
  'A fault no rule names: move the workloads off the node and replace it.';

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

// Messages for zod issues that the schema does not word itself.
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} item(s)`;
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
};

function toPath(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

function schemaErrors(
  doc: Document,
  lineCounter: LineCounter,
  issues: readonly z.core.$ZodIssue[],
): CatalogError[] {
  const errors: CatalogError[] = [];
  for (const issue of issues) {
    const path = toPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const at = locate(doc, lineCounter, keyPath, 'key');
        errors.push({
          line: at.line,
          column: at.column,
          path: formatPath(keyPath),
          message: `unknown key "${key}"`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      const at = locate(doc, lineCounter, path, 'key');
      errors.push({
        line: at.line,
        column: at.column,
        path: formatPath(path),
        message: issue.issues[0]?.message ?? issue.message,
      });
      continue;
    }
    const at = locate(doc, lineCounter, path);
    const lastSegment = path.at(-1);
    const missing = !at.found && issue.code === 'invalid_type' && typeof lastSegment === 'string';
    errors.push({
      line: at.line,
      column: at.column,
      path: formatPath(path),
      message: missing ? `missing required key "${lastSegment}"` : issue.message,
    });
  }
  return errors;
}

function flapPolicy(
  file: NonNullable<FaultFile['flap']> | undefined,
  base: FlapPolicy,
): FlapPolicy {
  return {
    maxTransitions: file?.maxTransitions ?? base.maxTransitions,
    windowMs: file?.window === undefined ? base.windowMs : parseDuration(file.window),
    holdForMs: file?.holdFor === undefined ? base.holdForMs : parseDuration(file.holdFor),
  };
}

function ladder(steps: readonly StepFile[]): LadderStep[] {
  return steps.map((step) => ({
    action: step.action,
    timeoutMs: parseDuration(step.timeout),
    ...(step.skipBelowSuccessRate === undefined
      ? {}
      : { skipBelowSuccessRate: { ...step.skipBelowSuccessRate } }),
  }));
}

function build(file: CatalogFile, source: string): Catalog {
  const defaults = {
    debounceMs:
      file.defaults?.debounce === undefined
        ? DEFAULT_DEBOUNCE_MS
        : parseDuration(file.defaults.debounce),
    flap: flapPolicy(file.defaults?.flap, DEFAULT_FLAP),
  };
  const generic: Fault = {
    name: GENERIC_FAULT_NAME,
    description: file.generic?.description ?? DEFAULT_GENERIC_DESCRIPTION,
    alerts: [],
    debounceMs:
      file.generic?.debounce === undefined
        ? defaults.debounceMs
        : parseDuration(file.generic.debounce),
    flap: flapPolicy(file.generic?.flap, defaults.flap),
    ladder: file.generic === undefined ? DEFAULT_GENERIC_LADDER : ladder(file.generic.ladder),
    ...(file.generic?.approval === 'outage' ? { approval: 'outage' as const } : {}),
  };
  const faults = file.faults.map((fault): Fault => ({
    name: fault.name,
    description: fault.description.trim(),
    alerts: fault.alerts.map((selector) => ({
      alertname: selector.alertname,
      matchers: { ...selector.matchers },
      ...(selector.debounce === undefined ? {} : { debounceMs: parseDuration(selector.debounce) }),
    })),
    debounceMs: fault.debounce === undefined ? defaults.debounceMs : parseDuration(fault.debounce),
    flap: flapPolicy(fault.flap, defaults.flap),
    ladder: ladder(fault.ladder),
    // `written` is the default: only `fastest` is carried (the catalog stays as before without it).
    ...(fault.order === 'fastest' ? { order: 'fastest' as const } : {}),
    // Likewise `none`: only `outage` is carried.
    ...(fault.approval === 'outage' ? { approval: 'outage' as const } : {}),
  }));
  const leaveAlone = (file.leaveAlone ?? []).map((entry) => ({
    alertname: entry.alertname,
    matchers: { ...entry.matchers },
    reason: entry.reason.trim(),
  }));
  return { version: 1, source, defaults, generic, faults, leaveAlone };
}

function uniqueSorted(errors: readonly CatalogError[]): CatalogError[] {
  const unique = new Map(errors.map((error) => [JSON.stringify(error), error]));
  return [...unique.values()].sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Parses and validates a remedy catalog.
 *
 * - YAML syntax errors (including duplicate keys and several documents) are reported first,
 *   and alone: the shape cannot be checked reliably without a document.
 * - Otherwise every shape error (zod) and every cross-entry error is reported, sorted by
 *   position, each with a 1-based line and column that point at the offending value, at the
 *   unknown key, or for a missing key at the mapping that lacks it.
 * - On success durations are milliseconds and defaults are applied: debounce 120s, flap policy
 *   `defaults.flap` or 4 transitions in 30m holding 10m, generic ladder cordon → drain → replace.
 */
export function loadCatalog(text: string, fileName: string): LoadCatalogResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: uniqueSorted(
        doc.errors.map((error) => {
          const { line, col } = lineCounter.linePos(error.pos[0]);
          const message =
            error.code === 'MULTIPLE_DOCS'
              ? 'a rule file holds one YAML document; remove the "---" separator'
              : error.message;
          return { line, column: col, path: '', message };
        }),
      ),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      ok: false,
      errors: [{ line: 1, column: 1, path: '', message: (error as Error).message }],
    };
  }
  if (raw === null || raw === undefined) {
    return {
      ok: false,
      errors: [
        {
          line: 1,
          column: 1,
          path: '',
          message: 'the catalog is empty: expected a mapping with "version: 1" and "faults:"',
        },
      ],
    };
  }
  const parsed = catalogFileSchema.safeParse(raw, { error: errorMap });
  const errors = parsed.success ? [] : schemaErrors(doc, lineCounter, parsed.error.issues);
  for (const issue of crossCheck(raw)) {
    const at = locate(doc, lineCounter, issue.path);
    const related =
      issue.related === undefined
        ? ''
        : ` (see line ${locate(doc, lineCounter, issue.related).line})`;
    errors.push({
      line: at.line,
      column: at.column,
      path: formatPath(issue.path),
      message: issue.message + related,
    });
  }
  if (!parsed.success || errors.length > 0) return { ok: false, errors: uniqueSorted(errors) };
  return { ok: true, catalog: build(parsed.data, fileName) };
}
