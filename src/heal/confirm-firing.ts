// Is the fault still there when its heal is due? A firing notification can reach nodeheal long
// after the alert began (Alertmanager's group_wait and retries, a loaded sender): past its
// debounce, it makes the heal due at once, while the resolved notification is still on its way.
// So before a heal's first action, what Alertmanager (and the API, for a condition) says now is
// compared with what the intake recorded. Evidence that the fault is over makes the heal wait for
// the resolved notification, which ends it without acting; evidence never drops a heal on its
// own: an Alertmanager that does not hold these alerts (another source, a wrong URL) would then
// silently lose heals. Pure: the worker gathers the evidence (worker/confirm-step.ts).

/** What Alertmanager said of the fault's alerts, or why it could not be asked. */
export type AlertmanagerAnswer =
  /** Fingerprints of the alerts Alertmanager holds unresolved, among those asked about. */
  | { kind: 'listed'; fingerprints: ReadonlySet<string> }
  | { kind: 'unanswered'; why: string }
  /** No Alertmanager to ask (none configured, or the alerts came from another source). */
  | { kind: 'not-asked' };

export interface FiringEvidence {
  /** Fingerprints of the fault's alerts the intake counts as firing (its fault history). */
  activeFingerprints: readonly string[];
  alertmanager: AlertmanagerAnswer;
  /** What the node's condition or taint says (`conditionHealthy`); undefined: it names none. */
  apiHealthy: boolean | undefined;
  /** When the evidence first said the fault is over, for this heal (epoch ms); undefined: never. */
  overSince: number | undefined;
  now: number;
  /** How long to wait before asking again while the evidence says the fault is over. */
  recheckMs: number;
  /** How long the evidence may say "over" without a resolved notification before going ahead. */
  maxWaitMs: number;
}

/** Counted in `nodeheal_fault_confirmations_total{result}`. */
export const CONFIRMATION_RESULTS = [
  'firing',
  'resolved-in-alertmanager',
  'healthy-in-api',
  'alertmanager-unanswered',
  'not-asked',
  'waited-out',
] as const;
export type ConfirmationResult = (typeof CONFIRMATION_RESULTS)[number];

export type FiringDecision =
  | { kind: 'go'; result: ConfirmationResult; detail: string }
  | { kind: 'wait'; result: ConfirmationResult; until: number; overSince: number; detail: string };

function go(result: ConfirmationResult, detail: string): FiringDecision {
  return { kind: 'go', result, detail };
}

/**
 * Whether a due heal may take its first action now.
 * - The API decides first when the fault names a condition or taint: unhealthy there is firing.
 * - Otherwise Alertmanager: any of the active fingerprints still unresolved there is firing.
 * - Alertmanager not answering, or not asked, lets the heal go: the intake's record stands (the
 *   silence gate, when configured, already holds heals while Alertmanager is away).
 * - Evidence that the fault is over (healthy in the API, or none of the alerts unresolved in
 *   Alertmanager) makes the heal wait `recheckMs`, up to `maxWaitMs` from `overSince`; then it
 *   goes, and says why (a resolved notification that never came: `send_resolved: false`, or an
 *   Alertmanager that never held these alerts).
 */
export function confirmFiring(evidence: FiringEvidence): FiringDecision {
  if (evidence.apiHealthy === false) return go('firing', 'the API shows the fault on the node');
  let over: { result: ConfirmationResult; detail: string } | undefined;
  if (evidence.apiHealthy === true) {
    over = { result: 'healthy-in-api', detail: "the node's condition or taint shows healthy" };
  } else {
    const am = evidence.alertmanager;
    if (am.kind === 'not-asked') return go('not-asked', 'no Alertmanager to ask');
    if (am.kind === 'unanswered') {
      return go('alertmanager-unanswered', `Alertmanager could not be asked (${am.why})`);
    }
    const stillListed = evidence.activeFingerprints.filter((f) => am.fingerprints.has(f));
    if (stillListed.length > 0) {
      return go(
        'firing',
        `Alertmanager still holds ${stillListed.length} of its alerts unresolved`,
      );
    }
    over = {
      result: 'resolved-in-alertmanager',
      detail: 'Alertmanager holds none of its alerts unresolved',
    };
  }
  const overSince = evidence.overSince ?? evidence.now;
  const waitEnd = overSince + evidence.maxWaitMs;
  if (evidence.now >= waitEnd) {
    return go(
      'waited-out',
      `${over.detail} since ${new Date(overSince).toISOString()}, but no resolved notification came in ${evidence.maxWaitMs / 1000} s: going ahead`,
    );
  }
  return {
    kind: 'wait',
    result: over.result,
    until: Math.min(evidence.now + evidence.recheckMs, waitEnd),
    overSince,
    detail: `${over.detail}: waiting for its resolved notification`,
  };
}
