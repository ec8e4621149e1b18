// Maps a path into the parsed YAML (as zod reports it) back to a line and column in the text.
import { isMap, isNode, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair } from 'yaml';

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

export interface Located extends Position {
  /** Whether the whole path exists in the document (false for a missing key). */
  found: boolean;
}

function keyText(pair: Pair): string | undefined {
  const key: unknown = pair.key;
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

function start(node: Node | null | undefined, lineCounter: LineCounter): Position | undefined {
  if (node?.range === undefined || node.range === null) return undefined;
  const { line, col } = lineCounter.linePos(node.range[0]);
  return { line, column: col };
}

/**
 * Finds where a path points in the document.
 *
 * - `target: 'value'` points at the value (for a key with an empty value: at the key).
 * - `target: 'key'` points at the key of the last segment (for unknown keys).
 * - A path that leaves the document (missing key, alias, scalar) points at the deepest node
 *   that exists, and `found` is false; an empty document points at 1:1.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  target: 'value' | 'key' = 'value',
): Located {
  let node: unknown = doc.contents;
  let here: Position = start(isNode(node) ? node : undefined, lineCounter) ?? {
    line: 1,
    column: 1,
  };
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item) === String(segment));
      if (pair === undefined) return { ...here, found: false };
      const keyPosition = start(isNode(pair.key) ? pair.key : undefined, lineCounter) ?? here;
      if (last && target === 'key') return { ...keyPosition, found: true };
      const value = pair.value;
      const emptyValue =
        !isNode(value) ||
        (isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1]);
      here = emptyValue ? keyPosition : (start(value, lineCounter) ?? keyPosition);
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) return { ...here, found: false };
      here = start(item, lineCounter) ?? here;
      node = item;
    } else {
      return { ...here, found: false };
    }
  }
  return { ...here, found: true };
}

/** Renders a path as `faults[2].ladder[0].action`; the root is the empty string. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
