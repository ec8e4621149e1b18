// The intake remembers that the queue holds the job of the current episode, so repeats need no
// queue write; any change of the firing set forgets it.
import { describe, expect, it } from 'vitest';
import { markHealFinished, markScheduled, recordTransition } from '../../../src/triage/index.ts';
import { at, firing, MIN, resolved, RULE } from './fixtures.ts';

describe('scheduledFor', () => {
  const first = recordTransition(undefined, firing(0), at(0), RULE);
  const confirmed = markScheduled(first, at(2 * MIN));

  it.each([
    [
      'a repeat of the same alert keeps it',
      () => recordTransition(confirmed, firing(0), at(30_000), RULE),
      at(2 * MIN).getTime(),
    ],
    [
      'another alert of the key firing drops it',
      () => recordTransition(confirmed, firing(0, { fingerprint: 'other' }), at(30_000), RULE),
      undefined,
    ],
    [
      'the alert resolving drops it',
      () => recordTransition(confirmed, resolved(0, 60_000), at(60_000), RULE),
      undefined,
    ],
    ['a finished heal drops it', () => markHealFinished(confirmed), undefined],
  ])('%s', (_label, next, expected) => {
    expect(next().scheduledFor).toBe(expected);
  });
});
