// Times on the status pages and in `nodeheal status`.
import { describe, expect, it } from 'vitest';
import { isoTime, relativeTime, shortIso } from '../../../src/status/time-format.ts';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const T = NOW.getTime();

describe('relativeTime', () => {
  it.each([
    [T, 'just now'],
    [T - 999, 'just now'],
    [T - 1000, '1s ago'],
    [T - 90_500, '1m30s ago'],
    [T - 3_599_000, '59m59s ago'],
    [T - 3_725_000, '1h2m ago'],
    [T - 2 * 86_400_000, '2d ago'],
    [T + 45_000, 'in 45s'],
    [T + 3 * 3_600_000 + 30_000, 'in 3h'],
    [Number.NaN, ''],
  ])('%d → %s', (ms, expected) => {
    expect(relativeTime(ms, NOW)).toBe(expected);
  });
});

describe('isoTime and shortIso', () => {
  it.each([
    [T, '2025-03-01T12:00:00.000Z', '2025-03-01T12:00:00Z'],
    [T + 1234, '2025-03-01T12:00:01.234Z', '2025-03-01T12:00:01Z'],
    [null, '—', '-'],
    [undefined, '—', '-'],
    [Number.NaN, '—', '-'],
    [8.64e15 + 1, '—', '-'],
  ])('%s', (ms, iso, short) => {
    expect(isoTime(ms)).toBe(iso);
    expect(shortIso(ms)).toBe(short);
  });
});
