// Which fault an alert signals, by the catalog's alert selectors.
import type { NodeAlert } from '../triage/index.ts';
import type { AlertSelector, Catalog, Fault, LeftAlone } from './catalog-types.ts';

/**
 * True when the selector's alertname equals the alert's and every matcher holds exactly.
 *
 * - Matching is exact and case-sensitive, on the alert's labels.
 * - A matcher with the empty value matches an absent label (Prometheus semantics).
 */
export function selectorMatches(
  selector: AlertSelector,
  alert: Pick<NodeAlert, 'alertname' | 'labels'>,
): boolean {
  if (selector.alertname !== alert.alertname) return false;
  return Object.entries(selector.matchers).every(([label, value]) =>
    Object.hasOwn(alert.labels, label) ? alert.labels[label] === value : value === '',
  );
}

/**
 * The fault an alert signals.
 *
 * - Among the selectors that match, the one with the most matchers wins (the most specific);
 *   the catalog validation guarantees that such a winner belongs to one fault.
 * - Ties between selectors of the same fault do not matter; otherwise the first in file order.
 * - The winning selector's own `debounce`, when it has one, replaces the fault's in the fault
 *   returned (the alert's rule already waited its `for`).
 * - No match: the generic fault (`name: "unknown"`, cordon → drain → replace).
 */
export function matchFault(
  catalog: Catalog,
  alert: Pick<NodeAlert, 'alertname' | 'labels'>,
): Fault {
  let best: { fault: Fault; selector: AlertSelector; specificity: number } | undefined;
  for (const fault of catalog.faults) {
    for (const selector of fault.alerts) {
      if (!selectorMatches(selector, alert)) continue;
      const specificity = Object.keys(selector.matchers).length;
      if (best === undefined || specificity > best.specificity)
        best = { fault, selector, specificity };
    }
  }
  if (best === undefined) return catalog.generic;
  const { fault, selector } = best;
  return selector.debounceMs === undefined ? fault : { ...fault, debounceMs: selector.debounceMs };
}

/**
 * Why nodeheal leaves this alert alone, when the catalog says so (`leaveAlone`) and no fault
 * claims it; undefined otherwise.
 */
export function leftAlone(
  catalog: Catalog,
  alert: Pick<NodeAlert, 'alertname' | 'labels'>,
): LeftAlone | undefined {
  if (catalog.faults.some((f) => f.alerts.some((s) => selectorMatches(s, alert)))) return undefined;
  return catalog.leaveAlone.find((entry) => selectorMatches(entry, alert));
}
