// The agent catalog's durations are parsed by the agent's own copy of the rule files' grammar
// (src/rules' index would load zod into every node agent). The two must give the same answer for
// every text: the same milliseconds, or both refuse it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catalogDurationMs } from '../../../src/agent/catalog-duration.ts';
import { isDuration, parseDuration } from '../../../src/rules/index.ts';

const rulesAnswer = (text: string) => (isDuration(text) ? parseDuration(text) : undefined);

describe('catalogDurationMs', () => {
  it.each([
    ['0', 0],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['500ms', 500],
    ['', undefined],
    ['30m1h', undefined],
    ['1.5s', undefined],
    ['-1s', undefined],
    ['10', undefined],
    [' 1s', undefined],
    ['99999999999999999999d', undefined],
  ])('%j → %j, as src/rules parses it', (text, ms) => {
    expect(catalogDurationMs(text)).toBe(ms);
    expect(rulesAnswer(text)).toBe(ms);
  });

  it('agrees with src/rules on any text made of digits and units', () => {
    const piece = fc.oneof(
      fc.stringMatching(/^\d{1,17}$/),
      fc.constantFrom('d', 'h', 'm', 's', 'ms', '.', '-', ' ', '0'),
    );
    const text = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(text, fc.string()), (t) => {
        expect(catalogDurationMs(t)).toBe(rulesAnswer(t));
      }),
      { numRuns: 2000 },
    );
  });
});
