// `nodeheal rules check [FILE]`: validate a catalog file and say what it contains.
import { readFile } from 'node:fs/promises';
import type { AlertSelector, Catalog, CatalogError, Fault } from '../rules/index.ts';
import { formatDuration } from '../rules/index.ts';
import { loadCatalog } from '../rules/index.ts';

export const RULES_CHECK_EXIT = { valid: 0, invalid: 1, unreadable: 2 } as const;

/** One `file:line:col: path: message` line per error (the path is left out when empty). */
export function formatCatalogErrors(fileName: string, errors: readonly CatalogError[]): string {
  return errors
    .map(
      (error) =>
        `${fileName}:${error.line}:${error.column}: ${error.path === '' ? '' : `${error.path}: `}${error.message}\n`,
    )
    .join('');
}

function formatSelector(selector: AlertSelector): string {
  const matchers = Object.entries(selector.matchers).map(
    ([label, value]) => `${label}=${JSON.stringify(value)}`,
  );
  const name =
    matchers.length === 0 ? selector.alertname : `${selector.alertname}{${matchers.join(',')}}`;
  return selector.debounceMs === undefined
    ? name
    : `${name} (debounce ${formatDuration(selector.debounceMs)})`;
}

function formatFault(fault: Fault, alerts: string): string {
  const ladder = fault.ladder
    .map((step) => `${step.action} ${formatDuration(step.timeoutMs)}`)
    .join(' → ');
  const order = fault.order === 'fastest' ? ' (order: fastest)' : '';
  const approval = fault.approval === 'outage' ? ' (approval: outage)' : '';
  return `  ${fault.name}: ${alerts}; debounce ${formatDuration(fault.debounceMs)}; ${ladder}${order}${approval}\n`;
}

/** What a valid catalog contains: one line per fault, then the generic ladder. */
export function summarizeCatalog(fileName: string, catalog: Catalog): string {
  const count = catalog.faults.length;
  let out = `${fileName}: valid, ${count} fault${count === 1 ? '' : 's'} plus the generic ladder\n`;
  for (const fault of catalog.faults) {
    out += formatFault(fault, fault.alerts.map(formatSelector).join(', '));
  }
  out += formatFault(catalog.generic, 'any other alert');
  for (const entry of catalog.leaveAlone) {
    out += `  left alone: ${formatSelector(entry)}: ${entry.reason}\n`;
  }
  return out;
}

/**
 * Checks a rule file for the CLI; the caller writes `output` and exits with `exitCode`.
 *
 * - 0: valid; the output summarises the faults.
 * - 1: invalid; one `file:line:col: message` line per error.
 * - 2: the file cannot be read (missing, a directory, no permission).
 */
export async function checkRulesFile(path: string): Promise<{ exitCode: number; output: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    return {
      exitCode: RULES_CHECK_EXIT.unreadable,
      output: `${path}: cannot read the rule file (${code}): ${(error as Error).message}\n`,
    };
  }
  const result = loadCatalog(text, path);
  if (!result.ok) {
    return { exitCode: RULES_CHECK_EXIT.invalid, output: formatCatalogErrors(path, result.errors) };
  }
  return { exitCode: RULES_CHECK_EXIT.valid, output: summarizeCatalog(path, result.catalog) };
}
