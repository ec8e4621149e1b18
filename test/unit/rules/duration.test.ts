import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  InvalidDurationError,
  isDuration,
  parseDuration,
} from '../../../src/rules/index.ts';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['1s', 1_000],
    ['120s', 120_000],
    ['2m', 120_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['90s', 90_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(isDuration(text)).toBe(true);
  });

  it.each([
    [''],
    ['120'],
    ['2x'],
    ['m'],
    ['-1m'],
    ['1.5m'],
    ['1 m'],
    [' 1m'],
    ['30m1h'],
    ['1m1m'],
    ['2M'],
    ['1w'],
    ['99999999999999999999d'],
  ])('%j is not a duration', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidDurationError);
    expect(isDuration(text)).toBe(false);
  });

  it('names the input and has a stable code', () => {
    const error = (() => {
      try {
        parseDuration('2x');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidDurationError);
    expect((error as InvalidDurationError).code).toBe('INVALID_DURATION');
    expect((error as InvalidDurationError).message).toContain('"2x"');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [120_000, '2m'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [86_400_000, '1d'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([[-1], [1.5], [Number.NaN]])('rejects %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});
