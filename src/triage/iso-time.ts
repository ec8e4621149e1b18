// `Date.prototype.toISOString`, remembered. An alert's startsAt and its heal's due time are the
// same in every repeat delivery, and formatting a Date was among the costlier steps of handling a
// repeat (bench:intake). Pure as far as callers can tell.

const texts = new Map<number, string>();
/** Cleared rather than evicted one by one: the set of live times is small and refills at once. */
const MAX_TEXTS = 10_000;

/** The ISO 8601 text of `time` (a Date or epoch milliseconds); throws like toISOString on NaN. */
export function isoTime(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  let text = texts.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (texts.size >= MAX_TEXTS) texts.clear();
    texts.set(ms, text);
  }
  return text;
}
