// The bounded output tail the agent reports: the end of the output, never more than the limit,
// never a broken character.
import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../../src/agent/index.ts';

const tailOf = (limit: number, chunks: string[]) => {
  const tail = new OutputTail(limit);
  for (const chunk of chunks) tail.push(Buffer.from(chunk));
  return tail.text();
};

describe('OutputTail', () => {
  it.each<[string, number, string[], string]>([
    ['everything when it fits', 100, ['a\n', 'b\n'], 'a\nb\n'],
    ['nothing for no output', 100, [], ''],
    ['the last whole lines when cut', 12, ['line 1\n', 'line 2\n', 'line 3\n'], 'line 3\n'],
    ['the cut text when it has no whole line', 4, ['abcdefgh'], 'efgh'],
    ['the end across many small chunks', 6, 'xxxxxxxxxx\nabcd'.split(''), 'abcd'],
  ])('keeps %s', (_label, limit, chunks, expected) => {
    expect(tailOf(limit, chunks)).toBe(expected);
  });

  it('never exceeds its limit in bytes', () => {
    const big = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`);
    expect(Buffer.byteLength(tailOf(256, big))).toBeLessThanOrEqual(256);
    expect(tailOf(256, big).endsWith('line 999\n')).toBe(true);
  });

  it('drops a multi-byte character cut in half', () => {
    // "é" is two bytes; a 3-byte limit over "éé" keeps half of the first one, which is dropped.
    expect(tailOf(3, ['éé'])).toBe('é');
  });
});
