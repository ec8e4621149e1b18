// Shared builders for the triage tables: a fixed clock, alerts, and a rule.
import type { FaultHistory, TriageRule } from '../../../src/triage/index.ts';
import { applyAlert } from '../../../src/triage/index.ts';
import type { NodeAlert } from '../../../src/triage/node-alert.ts';

export const T0 = Date.parse('2025-03-01T12:00:00.000Z');
export const SEC = 1_000;
export const MIN = 60 * SEC;

/** The fake clock: `at(90 * SEC)` is T0 + 90s. */
export function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
}

export const RULE: TriageRule = {
  name: 'node-not-ready',
  debounceMs: 2 * MIN,
  flap: { maxTransitions: 4, windowMs: 30 * MIN, holdForMs: 10 * MIN },
};

export const KEY = 'heal:worker-1:node-not-ready';

export function firing(startOffsetMs: number, overrides: Partial<NodeAlert> = {}): NodeAlert {
  return {
    node: 'worker-1',
    alertname: 'NodeNotReady',
    status: 'firing',
    labels: { alertname: 'NodeNotReady', node: 'worker-1', severity: 'critical' },
    annotations: { summary: 'Node worker-1 reports NotReady' },
    startsAt: at(startOffsetMs),
    fingerprint: 'a1b2c3d4e5f60718',
    ...overrides,
  };
}

export function resolved(
  startOffsetMs: number,
  endOffsetMs: number,
  overrides: Partial<NodeAlert> = {},
): NodeAlert {
  return { ...firing(startOffsetMs), status: 'resolved', endsAt: at(endOffsetMs), ...overrides };
}

/** A delivery: the alert and the fake `now` it arrives at. */
export interface Delivery {
  alert: NodeAlert;
  now: number;
}

/** Feeds deliveries through triage + recordTransition, as the intake would. */
export function replay(
  deliveries: readonly Delivery[],
  rule: TriageRule = RULE,
  start?: FaultHistory,
): FaultHistory | undefined {
  let history = start;
  for (const delivery of deliveries) {
    history = applyAlert(delivery.alert, rule, history, at(delivery.now)).history;
  }
  return history;
}
