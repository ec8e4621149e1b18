// Maintenance windows (pure, fixed clock): when disruptive steps of a Ready node may run.
import { describe, expect, it } from 'vitest';
import {
  isInWindow,
  maintenanceWindowSchema,
  windowGate,
  windowsFor,
  type MaintenanceWindow,
} from '../../../src/safety/windows.ts';

const w = (input: Record<string, unknown>): MaintenanceWindow =>
  maintenanceWindowSchema.parse(input);
// 2026-12-01 is a Tuesday.
const at = (iso: string) => Date.parse(iso);

describe('isInWindow', () => {
  it.each([
    [
      'inside a same-day window',
      { days: ['tue'], start: '09:00', end: '17:00' },
      '2026-12-01T10:00:00Z',
      true,
    ],
    [
      'at its start (inclusive)',
      { days: ['tue'], start: '09:00', end: '17:00' },
      '2026-12-01T09:00:00Z',
      true,
    ],
    [
      'at its end (exclusive)',
      { days: ['tue'], start: '09:00', end: '17:00' },
      '2026-12-01T17:00:00Z',
      false,
    ],
    ['another day', { days: ['mon'], start: '09:00', end: '17:00' }, '2026-12-01T10:00:00Z', false],
    [
      'past midnight, before midnight',
      { days: ['tue'], start: '22:00', end: '06:00' },
      '2026-12-01T23:30:00Z',
      true,
    ],
    [
      'past midnight, next morning',
      { days: ['tue'], start: '22:00', end: '06:00' },
      '2026-12-02T05:59:00Z',
      true,
    ],
    [
      'past midnight, the morning of the listed day',
      { days: ['tue'], start: '22:00', end: '06:00' },
      '2026-12-01T05:00:00Z',
      false,
    ],
    [
      'in the window time zone (Berlin is UTC+1 in December)',
      { days: ['tue'], start: '09:00', end: '10:00', timeZone: 'Europe/Berlin' },
      '2026-12-01T08:30:00Z',
      true,
    ],
    [
      'same UTC instant is outside in UTC',
      { days: ['tue'], start: '09:00', end: '10:00' },
      '2026-12-01T08:30:00Z',
      false,
    ],
  ] as const)('%s', (_what, input, iso, expected) => {
    expect(isInWindow(w(input), at(iso))).toBe(expected);
  });
});

describe('windowGate', () => {
  const night = [w({ days: ['tue', 'wed'], start: '22:00', end: '06:00', timeZone: 'UTC' })];
  const noon = at('2026-12-01T12:00:00Z');

  it.each([
    ['no windows: allowed', [], 'replace', true, true],
    ['an expert remedy runs at any time', night, 'restart-kubelet', true, true],
    ['a NotReady node is already disrupted: healed at once', night, 'replace', false, true],
    ['a Ready node outside its window waits (replace)', night, 'replace', true, false],
    ['a Ready node outside its window waits (drain)', night, 'drain', true, false],
    ['a Ready node outside its window waits (reboot)', night, 'reboot', true, false],
  ] as const)('%s', (_what, windows, action, ready, allowed) => {
    expect(windowGate(windows, action, ready, noon).allowed).toBe(allowed);
  });

  it('says when the next window opens', () => {
    const decision = windowGate(night, 'replace', true, noon);
    expect(decision).toMatchObject({ allowed: false, retryAt: at('2026-12-01T22:00:00Z') });
  });

  it('inside the window: allowed', () => {
    expect(windowGate(night, 'replace', true, at('2026-12-02T01:00:00Z')).allowed).toBe(true);
  });
});

describe('windowsFor and the schema', () => {
  it('picks the windows whose selector matches the node', () => {
    const windows = [
      w({ selector: { pool: 'db' }, start: '01:00', end: '02:00' }),
      w({ start: '03:00', end: '04:00' }),
    ];
    expect(windowsFor(windows, { pool: 'db' })).toHaveLength(2);
    expect(windowsFor(windows, { pool: 'web' })).toHaveLength(1);
  });

  it.each([
    [{ start: '25:00', end: '02:00' }, /HH:MM/],
    [{ start: '01:00', end: '02:00', timeZone: 'Mars/Olympus' }, /IANA time zone/],
    [{ start: '01:00', end: '02:00', days: ['someday'] }, /days/],
    [{ start: '01:00', end: '02:00', extra: 1 }, /extra/],
  ])('refuses %j', (input, message) => {
    const parsed = maintenanceWindowSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(message);
  });
});
