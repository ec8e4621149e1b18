import { describe, expect, it } from 'vitest';
import { HistoryCache } from '../../../src/store/history-cache.ts';

const entry = (raw: string | null) => ({ raw, history: raw === null ? undefined : { raw } });

describe('HistoryCache', () => {
  it('returns what was set, and undefined for keys never set or deleted', () => {
    const cache = new HistoryCache<{ raw: string }>(10);
    cache.set('a', entry('{"a":1}'));
    cache.set('absent', entry(null));
    expect(cache.get('a')).toEqual(entry('{"a":1}'));
    expect(cache.get('absent')).toEqual({ raw: null, history: undefined });
    expect(cache.get('b')).toBeUndefined();
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps at most its capacity, dropping the entry written longest ago', () => {
    const cache = new HistoryCache<{ raw: string }>(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(key));
    cache.set('a', entry('a2')); // rewritten: now the newest
    cache.set('d', entry('d'));
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.raw).toBe('a2');
    expect(cache.get('c')?.raw).toBe('c');
    expect(cache.get('d')?.raw).toBe('d');
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new HistoryCache(bad)).toThrow(/positive integer/);
    }
  });
});
