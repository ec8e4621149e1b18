// Just enough of Helm's template language to read the chart's ClusterRole templates without Helm
// (unit tests run no binaries): whole-line `{{- if COND }}` / `{{- end }}` blocks, where COND is
// `.Values.a.b`, `and X Y...`, `or X Y...` or `not X`; any other action on a line of its own
// (`include ... | nindent`) is dropped and inline actions (`{{ include ... }}`) become a
// placeholder. Anything else (else, with, range, parentheses) throws, so a template that outgrows
// this reader fails the test instead of being misread.
import { parseAllDocuments } from 'yaml';

export type Values = Record<string, unknown>;

/** The value at a dotted path (`kwokProvider.enabled`), undefined when absent. */
export function valueAt(values: Values, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (node, key) =>
        typeof node === 'object' && node !== null ? (node as Values)[key] : undefined,
      values,
    );
}

/** `.Values.a.b` looked up in `values`. */
function lookup(values: Values, reference: string): unknown {
  if (!reference.startsWith('.Values.')) throw new Error(`unsupported template value ${reference}`);
  return valueAt(values, reference.slice('.Values.'.length));
}

/** Go template truthiness of the few values a chart condition holds. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}

export function evaluate(condition: string, values: Values): boolean {
  const [head, ...args] = condition.trim().split(/\s+/);
  if (head === 'and') return args.every((a) => truthy(lookup(values, a)));
  if (head === 'or') return args.some((a) => truthy(lookup(values, a)));
  if (head === 'not' && args.length === 1) return !truthy(lookup(values, args[0] ?? ''));
  if (head !== undefined && args.length === 0) return truthy(lookup(values, head));
  throw new Error(`unsupported template condition: ${condition}`);
}

/** The template rendered with `values`: its YAML documents as objects (empty ones left out). */
export function renderTemplate(text: string, values: Values): unknown[] {
  const kept: string[] = [];
  const open: boolean[] = [];
  for (const line of text.split('\n')) {
    const action = /^\s*\{\{-?\s*(.*?)\s*-?\}\}\s*$/.exec(line)?.[1];
    if (action !== undefined) {
      const [keyword] = action.split(/\s+/);
      if (keyword === 'if') open.push(evaluate(action.slice(2), values));
      else if (keyword === 'end') {
        if (open.pop() === undefined) throw new Error('unbalanced {{ end }}');
      } else if (['else', 'with', 'range', 'define', 'block'].includes(keyword ?? '')) {
        throw new Error(`unsupported template action: ${action}`);
      }
      continue;
    }
    if (open.every(Boolean)) kept.push(line.replace(/\{\{.*?\}\}/g, 'x'));
  }
  if (open.length > 0) throw new Error('unclosed {{ if }}');
  return parseAllDocuments(kept.join('\n'))
    .map((doc) => doc.toJS() as unknown)
    .filter((doc) => doc !== null && doc !== undefined);
}

/** Deep copy of `values` with each dotted path set to `value`. */
export function withValues(values: Values, paths: readonly string[], value: unknown): Values {
  const copy = structuredClone(values);
  for (const path of paths) {
    const keys = path.split('.');
    let node: Values = copy;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Values;
    }
    node[keys.at(-1) ?? ''] = value;
  }
  return copy;
}
