// `nodeheal rules check --prometheus FILE`: what nodeheal would do with each alerting rule of a
// user's Prometheus rule file (or PrometheusRule objects), read against the catalog in use, so
// that a cluster's existing alerts can be checked before they are routed to nodeheal.
import { readFile } from 'node:fs/promises';
import { formatDuration, GENERIC_FAULT_NAME, leftAlone, loadCatalog } from '../rules/index.ts';
import { matchFault, type Catalog } from '../rules/index.ts';
import { formatCatalogErrors, RULES_CHECK_EXIT } from './check-rules-file.ts';
import { nodeVerdict, type NodeVerdict } from './prometheus-node-label.ts';
import { readPrometheusRules, type AlertRule } from './prometheus-rule-file.ts';

export type Answer = 'heal' | 'left_alone' | 'generic';

/** What nodeheal does with the alert when it carries the labels `when` (empty: any others). */
export interface Case {
  when: Record<string, string>;
  answer: Answer;
  /** heal and generic: the fault, its debounce, `for` + debounce, and the ladder. */
  fault?: string;
  debounceMs?: number;
  actsAfterMs?: number;
  ladder?: { action: string; timeoutMs: number }[];
  /** left_alone: the catalog's reason. */
  reason?: string;
}

export interface Row {
  alert: string;
  group: string;
  path: string;
  forMs: number;
  /** `by_label`: the catalog's matchers decide on labels the series carry (see `cases`). */
  answer: Answer | 'by_label';
  cases: Case[];
  node: NodeVerdict;
}

function answerFor(catalog: Catalog, rule: AlertRule, labels: Record<string, string>): Case {
  const alert = { alertname: rule.alert, labels };
  const alone = leftAlone(catalog, alert);
  if (alone !== undefined) return { when: {}, answer: 'left_alone', reason: alone.reason };
  // matchFault applies a selector's own debounce; the alert's startsAt is when it fired, after
  // its `for`, so the first step comes `for` + debounce after the fault began.
  const fault = matchFault(catalog, alert);
  return {
    when: {},
    answer: fault.name === GENERIC_FAULT_NAME ? 'generic' : 'heal',
    fault: fault.name,
    debounceMs: fault.debounceMs,
    actsAfterMs: rule.forMs + fault.debounceMs,
    ladder: fault.ladder.map((step) => ({ action: step.action, timeoutMs: step.timeoutMs })),
  };
}

/**
 * What nodeheal would do with a rule's alerts. A catalog matcher on a label the rule sets
 * statically is decided here; one on any other label depends on the series the expression
 * returns (KubeNodePressure's `condition`), so each such matcher is a case, then `otherwise`.
 */
export function mapAlertRule(rule: AlertRule, catalog: Catalog): Row {
  const selectors = [...catalog.faults.flatMap((f) => f.alerts), ...catalog.leaveAlone].filter(
    (s) =>
      s.alertname === rule.alert &&
      Object.entries(s.matchers).every(
        ([k, v]) => !Object.hasOwn(rule.labels, k) || rule.labels[k] === v,
      ),
  );
  const whens = new Map<string, Record<string, string>>();
  for (const { matchers } of selectors) {
    const open = Object.entries(matchers).filter(([k]) => !Object.hasOwn(rule.labels, k));
    if (open.length > 0) whens.set(JSON.stringify(open.sort()), Object.fromEntries(open));
  }
  const cases = [...whens.values()].map((when) => ({
    ...answerFor(catalog, rule, { ...rule.labels, ...when }),
    when,
  }));
  cases.push(answerFor(catalog, rule, rule.labels));
  return {
    alert: rule.alert,
    group: rule.group,
    path: rule.path,
    forMs: rule.forMs,
    answer: cases.length === 1 ? (cases[0]?.answer ?? 'generic') : 'by_label',
    cases,
    node: nodeVerdict(rule.labels, rule.expr),
  };
}

const ANSWER_WORDS = {
  heal: 'heal',
  left_alone: 'left alone',
  generic: 'GENERIC (!)',
  by_label: 'by label',
};

/** One case in a line; `alone` leaves out the words the NODEHEAL column already says. */
function caseText(c: Case, alone: boolean): string {
  if (c.answer === 'left_alone') return alone ? (c.reason ?? '') : `left alone: ${c.reason ?? ''}`;
  const ladder = (c.ladder ?? [])
    .map((s) => `${s.action} ${formatDuration(s.timeoutMs)}`)
    .join(' → ');
  const debounce = formatDuration(c.debounceMs ?? 0);
  const forText = formatDuration((c.actsAfterMs ?? 0) - (c.debounceMs ?? 0));
  const fault = c.answer === 'generic' && !alone ? `GENERIC (!) ${c.fault ?? ''}` : c.fault;
  return `${fault ?? ''}, debounce ${debounce}: acts ${forText} + ${debounce} = ${formatDuration(c.actsAfterMs ?? 0)} after the fault began; ${ladder}`;
}

function nodeText(node: NodeVerdict): string {
  const word = { node: node.label, instance: 'instance', no_node: 'none', depends: '?' };
  return `${word[node.verdict] ?? '?'}: ${node.why}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The table: one row per alerting rule, cases and warnings on lines of their own. */
export function renderRows(
  fileName: string,
  catalog: Catalog,
  read: { recordingRules: number; otherObjects: number },
  rows: readonly Row[],
): string {
  const skipped = [
    read.recordingRules > 0 ? `, ${plural(read.recordingRules, 'recording rule')} skipped` : '',
    read.otherObjects > 0 ? `, ${plural(read.otherObjects, 'other object')} skipped` : '',
  ];
  let out = `${fileName}: ${plural(rows.length, 'alerting rule')}${skipped.join('')}; catalog ${catalog.source}\n`;
  if (rows.length === 0) return out;
  const table = rows.map((row) => {
    const alone = row.cases.length === 1;
    const details = row.cases.map((c) => {
      const when = Object.entries(c.when).map(([k, v]) => `${k}="${v}"`);
      return alone
        ? caseText(c, alone)
        : `${when.join(', ') || 'otherwise'} → ${caseText(c, alone)}`;
    });
    if (row.node.verdict === 'no_node' && row.answer !== 'left_alone')
      details.push('no node label: nodeheal would ignore it (no_node)');
    const answer = ANSWER_WORDS[row.answer];
    return { cells: [row.alert, formatDuration(row.forMs), answer, nodeText(row.node)], details };
  });
  const head = ['ALERT', 'FOR', 'NODEHEAL', 'NODE LABEL'];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...table.map((t) => t.cells[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[], last: string) =>
    `${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}  ${last}`.trimEnd() + '\n';
  out += `\n${line(head, 'FAULT / LADDER OR REASON')}`;
  for (const { cells, details } of table) {
    out += line(cells, details[0] ?? '');
    for (const more of details.slice(1)) out += line(['', '', '', ''], more);
  }
  const count = (answer: Row['answer']) => rows.filter((r) => r.answer === answer).length;
  const summary = (['heal', 'by_label', 'left_alone', 'generic'] as const)
    .filter((a) => count(a) > 0)
    .map((a) => `${count(a)} ${a === 'generic' ? 'generic' : ANSWER_WORDS[a]}`);
  const noNode = rows.filter((r) => r.node.verdict === 'no_node').length;
  out += `\n${plural(rows.length, 'alert')}: ${summary.join(', ')}; ${noNode} without a node label.\n`;
  if (rows.some((r) => r.cases.some((c) => c.answer === 'generic')))
    out +=
      'GENERIC (!): no fault of the catalog names the alert, so it gets the generic ladder; ' +
      'rarely what you want: map it to a fault, or list it under leaveAlone.\n';
  out +=
    'NODE LABEL: a static node, kubernetes_node, nodename or instance label, else a guess from the ' +
    'expression: kube_node_*, kube_pod_info → node; node_*, up → instance (its host among the ' +
    "Nodes' addresses); absent(), or an outer aggregation without those labels → none.\n" +
    'Acting times leave out flap holds and safety gates; `nodeheal simulate` shows what a real alert gets.\n';
  return out;
}

/** Reads a rule file's text against a catalog: exit 0 with the table (or JSON), 1 with errors. */
export function checkPrometheusRules(
  source: string,
  catalog: Catalog,
  options: { fileName: string; json: boolean },
): { exitCode: number; rows: Row[]; output: string } {
  const read = readPrometheusRules(source);
  if (!read.ok) {
    const output = formatCatalogErrors(options.fileName, read.errors);
    return { exitCode: RULES_CHECK_EXIT.invalid, rows: [], output };
  }
  const rows = read.rules.map((rule) => mapAlertRule(rule, catalog));
  const { recordingRules, otherObjects } = read;
  const output = options.json
    ? `${JSON.stringify({ file: options.fileName, catalog: catalog.source, recordingRules, otherObjects, rules: rows }, null, 2)}\n`
    : renderRows(options.fileName, catalog, read, rows);
  return { exitCode: RULES_CHECK_EXIT.valid, rows, output };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const message = `${path}: cannot read the ${what} (${code}): ${(error as Error).message}\n`;
    throw new Error(message, { cause: error });
  }
}

/** The CLI's file reading: exit 2 when the rule file or the catalog cannot be read. */
export async function checkPrometheusRulesFile(
  path: string,
  catalogPath: string,
  json: boolean,
): Promise<{ exitCode: number; output: string }> {
  let catalogText: string, source: string;
  try {
    catalogText = await readText(catalogPath, 'rule catalog');
    source = await readText(path, 'Prometheus rule file');
  } catch (error) {
    return { exitCode: RULES_CHECK_EXIT.unreadable, output: (error as Error).message };
  }
  const loaded = loadCatalog(catalogText, catalogPath);
  if (!loaded.ok) {
    return {
      exitCode: RULES_CHECK_EXIT.invalid,
      output: formatCatalogErrors(catalogPath, loaded.errors),
    };
  }
  const { exitCode, output } = checkPrometheusRules(source, loaded.catalog, {
    fileName: path,
    json,
  });
  return { exitCode, output };
}
