import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../../src/store/micro-batcher.ts';

/** A batcher that records each batch it sends and answers every item doubled. */
function doubling(maxWeight: number, weight?: (n: number) => number) {
  const batches: number[][] = [];
  const batcher = new MicroBatcher<number, number>({
    maxWeight,
    ...(weight ? { weight } : {}),
    send: (items) => {
      batches.push(items);
      return Promise.resolve(items.map((n) => n * 2));
    },
  });
  return { batcher, batches };
}

describe('MicroBatcher', () => {
  it('sends the items submitted in one turn of the event loop as one batch, in order', async () => {
    const { batcher, batches } = doubling(100);
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(results).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('sends a lone item without waiting for company', async () => {
    const { batcher, batches } = doubling(100);
    expect(await batcher.submit(7)).toBe(14);
    expect(await batcher.submit(8)).toBe(16);
    expect(batches).toEqual([[7], [8]]);
  });

  it('splits by weight; an item heavier than the limit goes alone', async () => {
    const { batcher, batches } = doubling(10, (n) => n);
    const results = await Promise.all([4, 4, 4, 30, 1].map((n) => batcher.submit(n)));
    expect(results).toEqual([8, 8, 8, 60, 2]);
    expect(batches).toEqual([[4, 4], [4], [30], [1]]);
  });

  it('rejects every item of a failed batch, and the next batch works again', async () => {
    let fail = true;
    const batcher = new MicroBatcher<number, number>({
      maxWeight: 10,
      send: (items) =>
        fail ? Promise.reject(new Error('redis down')) : Promise.resolve(items.map((n) => n + 1)),
    });
    const first = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.submit(3)).toBe(4);
  });

  it('rejects the items when send throws synchronously or answers the wrong number', async () => {
    const throwing = new MicroBatcher<number, number>({
      maxWeight: 10,
      send: () => {
        throw new Error('encode failed');
      },
    });
    await expect(throwing.submit(1)).rejects.toThrow('encode failed');
    const short = new MicroBatcher<number, number>({
      maxWeight: 10,
      send: () => Promise.resolve([1]),
    });
    const results = await Promise.allSettled([short.submit(1), short.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses a maxWeight that is not positive', () => {
    expect(() => new MicroBatcher({ maxWeight: 0, send: () => Promise.resolve([]) })).toThrow(
      /positive/,
    );
  });
});
