// Reads the alerting rules of a Prometheus rule file (`groups:`), of PrometheusRule objects or of
// a List of them, for `nodeheal rules check --prometheus`; errors name the path in the YAML.
import { isNode, LineCounter, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../rules/index.ts';
import type { CatalogError } from '../rules/index.ts';

/** One alerting rule as read: its static labels are its group's, overridden by its own. */
export interface AlertRule {
  alert: string;
  group: string;
  /** Where it is in the YAML, e.g. `spec.groups[0].rules[2]`. */
  path: string;
  forMs: number;
  expr: string;
  labels: Record<string, string>;
}

export type ReadResult =
  | { ok: true; rules: AlertRule[]; recordingRules: number; otherObjects: number }
  | { ok: false; errors: CatalogError[] };

/** Prometheus durations also know weeks and years, which the catalog's durations do not. */
function parsePromDuration(value: string): number {
  const [, years = '0', weeks = '0', rest = ''] = /^(?:(\d+)y)?(?:(\d+)w)?(.*)$/.exec(value) ?? [];
  if (value === '') throw new Error('empty duration');
  return (
    (Number(years) * 365 + Number(weeks) * 7) * 86_400_000 + (rest === '' ? 0 : parseDuration(rest))
  );
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : JSON.stringify(value);
}

// YAML reads `priority: 1` or `for: 0` as numbers; Prometheus reads them as strings.
const text = (what: string) =>
  z
    .union([z.string(), z.number(), z.boolean()], {
      error: (issue) =>
        issue.input === undefined
          ? 'missing required key'
          : `expected ${what}, got ${describe(issue.input)}`,
    })
    .transform(String);
const labelsSchema = z.record(z.string(), text('a string')).nullish();
const durationSchema = text('a duration').transform((value, ctx) => {
  try {
    return parsePromDuration(value);
  } catch {
    ctx.issues.push({ code: 'custom', input: value, message: `invalid duration "${value}"` });
    return z.NEVER;
  }
});
const ruleSchema = z
  .object({
    alert: z.string().min(1).optional(),
    record: z.string().min(1).optional(),
    expr: text('a PromQL expression'),
    for: durationSchema.optional(),
    labels: labelsSchema,
    annotations: labelsSchema,
  })
  .superRefine((rule, ctx) => {
    if ((rule.alert === undefined) === (rule.record === undefined))
      ctx.addIssue({
        code: 'custom',
        message: `expected alert or record${rule.alert ? ', not both' : ''}`,
      });
  });
const groupsSchema = z
  .array(
    z.object({
      name: z.string().min(1),
      rules: z.array(ruleSchema).nullish(),
      labels: labelsSchema,
    }),
  )
  .nullish();
const errorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'missing required key';
  const names: Record<string, string> = { object: 'a mapping', array: 'a list' };
  const expected = names[issue.expected];
  return `expected ${expected ?? `a ${issue.expected}`}, got ${describe(issue.input)}`;
};

type Path = (string | number)[];
const formatPath = (path: Path) =>
  path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function lineCol(lineCounter: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Line and column of the deepest node of `path` that exists (a missing key: its mapping). */
function position(doc: Document, lineCounter: LineCounter, path: Path) {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineCol(lineCounter, node.range[0]);
  }
  return { line: 1, column: 1 };
}

/**
 * Reads a Prometheus rule file (`groups:`), a PrometheusRule, or a List of them, in one or more
 * YAML documents. Other Kubernetes objects (a `helm template` stream) are counted and skipped;
 * anything else, or no rule groups at all, is an error naming the path in the YAML.
 */
export function readPrometheusRules(source: string): ReadResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = docs.flatMap((doc) => doc.errors);
  if (syntax.length > 0) {
    const errors = syntax.map((e) => ({
      ...lineCol(lineCounter, e.pos[0]),
      path: '',
      message: e.message,
    }));
    return { ok: false, errors };
  }
  const rules: AlertRule[] = [];
  const errors: CatalogError[] = [];
  let recordingRules = 0;
  let otherObjects = 0;
  let groupsFound = false;
  for (const [d, doc] of docs.entries()) {
    // Several documents: the path says which one (0-based, as the other indices).
    const prefix: Path = docs.length > 1 ? ['documents', d] : [];
    const fail = (path: Path, message: string) =>
      errors.push({
        ...position(doc, lineCounter, path),
        path: formatPath([...prefix, ...path]),
        message,
      });
    const readGroups = (groups: unknown, path: Path) => {
      groupsFound = true;
      const parsed = groupsSchema.safeParse(groups, { error: errorMap });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const at = [...path, ...(issue.path as Path)];
          const key = JSON.stringify(at.at(-1));
          fail(
            at,
            issue.message === 'missing required key'
              ? `missing required key ${key}`
              : issue.message,
          );
        }
        return;
      }
      for (const [g, group] of (parsed.data ?? []).entries()) {
        for (const [r, rule] of (group.rules ?? []).entries()) {
          if (rule.alert === undefined) {
            recordingRules++;
            continue;
          }
          rules.push({
            alert: rule.alert,
            group: group.name,
            path: formatPath([...prefix, ...path, g, 'rules', r]),
            forMs: rule.for ?? 0,
            expr: rule.expr,
            labels: { ...group.labels, ...rule.labels },
          });
        }
      }
    };
    const readObject = (value: unknown, path: Path) => {
      if (isMapping(value) && value.kind === 'PrometheusRule') {
        if (!isMapping(value.spec)) fail([...path, 'spec'], 'expected a mapping with groups');
        else readGroups(value.spec.groups, [...path, 'spec', 'groups']);
      } else if (isMapping(value) && Array.isArray(value.items)) {
        for (const [i, item] of value.items.entries()) readObject(item, [...path, 'items', i]);
      } else if (isMapping(value) && 'groups' in value && path.length === 0) {
        readGroups(value.groups, ['groups']);
      } else if (isMapping(value) && typeof value.kind === 'string') {
        otherObjects++;
      } else if (value !== null && value !== undefined) {
        fail(path, 'not a rule file: expected "groups:", a PrometheusRule or a List of them');
      }
    };
    readObject(doc.toJS({ maxAliasCount: 100 }), []);
  }
  if (errors.length === 0 && !groupsFound) {
    const message = 'no rule groups: expected "groups:", a PrometheusRule or a List of them';
    errors.push({ line: 1, column: 1, path: '', message });
  }
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, rules, recordingRules, otherObjects };
}
