import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../src/triage/index.ts';

describe('isoTime', () => {
  it('is toISOString, for Dates and epoch milliseconds, asked once or many times', () => {
    for (const ms of [0, 1_714_557_600_123, -62_135_596_800_000, 253_402_300_799_999]) {
      const expected = new Date(ms).toISOString();
      expect(isoTime(ms)).toBe(expected);
      expect(isoTime(new Date(ms))).toBe(expected);
      expect(isoTime(ms)).toBe(expected);
    }
  });

  it('stays right after more distinct times than it remembers', () => {
    const base = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 25_000; i++) isoTime(base + i);
    expect(isoTime(base + 7)).toBe(new Date(base + 7).toISOString());
  });

  it('throws on an invalid time, like toISOString', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
