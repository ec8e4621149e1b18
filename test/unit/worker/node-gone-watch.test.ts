import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NodeGoneError, watchNodeGone } from '../../../src/worker/node-gone-watch.ts';

const node = (uid: string): V1Node => ({ metadata: { name: 'n1', uid } });
const tick = () => new Promise((r) => setTimeout(r, 30));

/** A NodeOps.get that answers from a script of readings, the last one repeated. */
function reads(...script: Array<V1Node | undefined | Error>) {
  let i = 0;
  return {
    get: (): Promise<V1Node | undefined> => {
      const next = script[Math.min(i++, script.length - 1)];
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
}

describe('watchNodeGone', () => {
  it.each([
    ['the Node deleted (404)', [node('a'), node('a'), undefined], true],
    ['another Node under the same name (new uid)', [node('a'), node('b')], true],
    ['the Node still there', [node('a')], false],
    ['reads failing (API unreachable) say nothing', [node('a'), new Error('ECONNREFUSED')], false],
  ])('%s: gone %s', async (_, script, gone) => {
    const caller = new AbortController();
    const watch = watchNodeGone(reads(...script), 'n1', caller.signal, 5);
    for (let i = 0; i < 5; i++) await tick();
    watch.stop();
    expect(watch.gone()).toBe(gone);
    expect(watch.signal.aborted).toBe(gone);
    if (gone) expect(watch.signal.reason).toBeInstanceOf(NodeGoneError);
    expect(caller.signal.aborted).toBe(false);
  });

  it("aborts with the caller's signal, and is not 'gone' then", async () => {
    const caller = new AbortController();
    const watch = watchNodeGone(reads(node('a')), 'n1', caller.signal, 5);
    caller.abort(new Error('shutdown'));
    await tick();
    watch.stop();
    expect(watch.signal.aborted).toBe(true);
    expect(watch.gone()).toBe(false);
  });
});
