// Whether a Prometheus alerting rule's alerts can be tied to a Node, decided from the rule alone
// (for `nodeheal rules check --prometheus`): its static labels, else a guess from the PromQL
// text. A small, documented heuristic on purpose: not a PromQL parser.
/** Whether the alert can be tied to a Node, from static labels or guessed from the expression. */
export interface NodeVerdict {
  verdict: 'node' | 'instance' | 'no_node' | 'depends';
  /** The label nodeheal would resolve the Node from. */
  label?: string;
  basis: 'static' | 'guess';
  why: string;
}

// The labels resolveNode (src/intake/normalise.ts) names the Node from, in its order.
const NODE_LABELS = ['node', 'kubernetes_node', 'nodename'] as const;

// The PromQL heuristic: a look at the expression's text, not a parser. The leftmost operand
// decides an expression's labels for `and`, `unless`, comparisons and plain arithmetic, so only
// the leading term is read: an outer absent(), an outer aggregation, else the first series.
const AGGREGATIONS =
  /^(sum|min|max|avg|count|group|stddev|stdvar|quantile|count_values)\s*(?:(by|without)\s*\(([^)]*)\))?\s*\(/;
const CLAUSE = /^\s*(by|without)\s*\(([^)]*)\)/;
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
const none = (why: string): NodeVerdict => ({ verdict: 'no_node', basis: 'guess', why });
const kept = (label: string, why: string): NodeVerdict => ({
  verdict: label === 'instance' ? 'instance' : 'node',
  label,
  basis: 'guess',
  why,
});

/** Index of the parenthesis that closes the one at `open` (quoted strings skipped), or -1. */
function closing(expr: string, open: number): number {
  let depth = 0;
  for (let i = open; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = expr.indexOf(c, i + 1);
      while (i > 0 && c !== '`' && expr[i - 1] === '\\') i = expr.indexOf(c, i + 1);
      if (i < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** The first series named in an expression: strings, matchers, ranges and label lists removed. */
function firstSeries(expr: string): string | undefined {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}|\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = bare[m.index - 1] ?? ' ';
    const after = bare.slice(m.index + m[0].length).trimStart();
    // Not a number's exponent or unit (1e3, 5m), a keyword, or a function's name.
    if (/[0-9.]/.test(before) || KEYWORDS.has(m[0]) || after.startsWith('(')) continue;
    return m[0];
  }
  return undefined;
}

function guess(expr: string): NodeVerdict {
  let e = expr.trim();
  while (e.startsWith('(') && closing(e, 0) === e.length - 1) e = e.slice(1, -1).trim();
  // absent() returns one series whose only labels are its selector's equality matchers.
  if (/^absent(_over_time)?\s*\(/.test(e)) return none('absent()');
  const agg = AGGREGATIONS.exec(e);
  const close = agg ? closing(e, agg[0].length - 1) : -1;
  if (agg && close > 0) {
    const op = agg[1] ?? '';
    const after = CLAUSE.exec(e.slice(close + 1));
    const kind = agg[2] ?? after?.[1];
    const list = agg[3] ?? after?.[2] ?? '';
    const labels = list.split(',').map((l) => l.trim());
    const clause = `${kind} (${labels.join(', ')})`;
    if (kind === undefined) return none(`${op}() without by`);
    if (kind === 'by') {
      const label = [...NODE_LABELS, 'instance'].find((l) => labels.includes(l));
      return label ? kept(label, `${op} ${clause}`) : none(`${op} ${clause}`);
    }
    const inner = guess(e.slice(agg[0].length, close));
    return inner.label !== undefined && labels.includes(inner.label)
      ? none(`${op} ${clause}`)
      : inner;
  }
  const series = firstSeries(e);
  if (series === undefined) return { verdict: 'depends', basis: 'guess', why: 'no series named' };
  // kube-state-metrics: every kube_node_* series has `node`; of kube_pod_*, only kube_pod_info.
  if (series.startsWith('kube_node_')) return kept('node', 'kube_node_*');
  if (series === 'kube_pod_info') return kept('node', series);
  // node-exporter's series and `up` name a scrape target: `instance`, the host's address.
  if (series.startsWith('node_') && !series.includes(':')) return kept('instance', 'node_*');
  if (series === 'up') return kept('instance', 'up');
  return { verdict: 'depends', basis: 'guess', why: `depends on ${series}` };
}

/** Static labels naming a node decide; otherwise a guess from the expression's text. */
export function nodeVerdict(labels: Record<string, string>, expr: string): NodeVerdict {
  for (const label of NODE_LABELS) {
    if (labels[label])
      return { verdict: 'node', label, basis: 'static', why: `static ${label}="${labels[label]}"` };
  }
  const fromExpr = guess(expr);
  if (fromExpr.label === undefined && labels.instance)
    return {
      verdict: 'instance',
      label: 'instance',
      basis: 'static',
      why: `static instance="${labels.instance}"`,
    };
  return fromExpr;
}
