// Durations in rule files: Prometheus-style strings such as "120s", "2m", "1h30m", "500ms".

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

// Units must appear largest first and at most once, as in Prometheus: "1h30m" but not "30m1h".
const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** A duration string that does not parse. */
export class InvalidDurationError extends Error {
  readonly code = 'INVALID_DURATION';
  readonly input: string;

  constructor(input: string) {
    super(
      `invalid duration ${JSON.stringify(input)}: expected a number with a unit (d, h, m, s, ms), largest unit first, such as "120s", "2m" or "1h30m"`,
    );
    this.name = 'InvalidDurationError';
    this.input = input;
  }
}

/**
 * Parses a duration string into milliseconds.
 *
 * - Units: `d`, `h`, `m`, `s`, `ms`; combined largest first, each at most once ("1h30m").
 * - `"0"` alone is zero; every other value needs a unit.
 * - No sign, no fractions, no spaces; the result must be a safe integer.
 *
 * @throws InvalidDurationError when the text is not a duration.
 */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const match = DURATION_PATTERN.exec(text);
  if (text === '' || match === null) throw new InvalidDurationError(text);
  const [, d, h, m, s, ms] = match;
  let total = 0;
  for (const [digits, unit] of [
    [d, UNIT_MS.d],
    [h, UNIT_MS.h],
    [m, UNIT_MS.m],
    [s, UNIT_MS.s],
    [ms, UNIT_MS.ms],
  ] as const) {
    if (digits !== undefined) total += Number(digits) * unit;
  }
  if (!Number.isSafeInteger(total)) throw new InvalidDurationError(text);
  return total;
}

/** True when `parseDuration(text)` would succeed. */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** Formats milliseconds back into the shortest duration string: 90000 → "1m30s", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`not a duration in ms: ${ms}`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
