// Durations of the agent catalog ("30s", "2m", "1h30m"): the grammar of src/rules' parseDuration,
// written again here because src/rules' index loads the remedy catalog's zod schema and YAML
// positions with it, about 3 MiB resident the node agent would keep for one regular expression
// (docs/benchmarks.md, "Footprint"). test/unit/agent/catalog-duration.test.ts holds the two to
// the same answers.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

// Units largest first and at most once, as in Prometheus: "1h30m" but not "30m1h".
const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Milliseconds of a catalog duration, or undefined when the text is not one.
 *
 * - Units `d`, `h`, `m`, `s`, `ms`, largest first, each at most once; `"0"` alone is zero.
 * - No sign, no fractions, no spaces; the result must be a safe integer.
 */
export function catalogDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const match = DURATION_PATTERN.exec(text);
  if (text === '' || match === null) return undefined;
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
  return Number.isSafeInteger(total) ? total : undefined;
}
