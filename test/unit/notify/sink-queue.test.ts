// One sink's outbox: order, retries with backoff, bounded attempts, a bounded queue that drops the
// oldest, and a push that never waits for the sink.
import { describe, expect, it } from 'vitest';
import {
  SinkQueue,
  backoffDelay,
  retryAfterMs,
  retryableStatus,
  type Delivery,
  type DeliveryResult,
  type SendResult,
  type SinkQueueOptions,
} from '../../../src/notify/index.ts';

const d = (id: string): Delivery => ({ id, body: id, contentType: 'text/plain' });

/** A queue whose sink answers from `answers` (then ok), sleeping no real time. */
function harness(answers: SendResult[], options: Partial<SinkQueueOptions> = {}) {
  const sent: string[] = [];
  const slept: number[] = [];
  const results: [DeliveryResult, string, string | undefined][] = [];
  const queue = new SinkQueue({
    name: 's',
    queueSize: 10,
    maxAttempts: 4,
    backoffMs: 100,
    maxBackoffMs: 1000,
    random: () => 0.999,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    send: (delivery) => {
      sent.push(delivery.id);
      return Promise.resolve(answers.shift() ?? { ok: true });
    },
    onResult: (result, delivery, detail) => results.push([result, delivery.id, detail]),
    ...options,
  });
  return { queue, sent, slept, results };
}

const down = (detail = 'ECONNREFUSED'): SendResult => ({ ok: false, retry: true, detail });

describe('backoffDelay', () => {
  const o = { backoffMs: 100, maxBackoffMs: 1000 };
  it.each([
    // attempt, random, Retry-After, delay
    [1, 0, undefined, 50],
    [1, 0.999, undefined, 100],
    [2, 0.999, undefined, 200],
    [3, 0.5, undefined, 300],
    [4, 0.999, undefined, 800],
    // capped, still jittered
    [5, 0.999, undefined, 1000],
    [9, 0, undefined, 500],
    // a Retry-After longer than the backoff is honoured, up to the cap
    [1, 0, 700, 700],
    [1, 0, 60_000, 1000],
    [3, 0.999, 10, 400],
  ])('retry %i (random %f, Retry-After %s) waits %i ms', (attempt, random, after, delay) => {
    expect(backoffDelay(attempt, o, random, after)).toBe(delay);
  });
});

describe('HTTP answers', () => {
  it.each([
    [200, false],
    [400, false],
    [401, false],
    [404, false],
    [408, true],
    [410, false],
    [425, true],
    [429, true],
    [500, true],
    [503, true],
  ])('HTTP %i is worth another try: %s', (status, retry) => {
    expect(retryableStatus(status)).toBe(retry);
  });

  it.each([
    [null, undefined],
    ['', undefined],
    ['3', 3000],
    [' 10 ', 10_000],
    ['Tue, 01 Dec 2026 12:00:05 GMT', 5000],
    ['Tue, 01 Dec 2026 11:00:00 GMT', 0],
    ['soon', undefined],
  ])('Retry-After %o is %o ms', (header, ms) => {
    expect(retryAfterMs(header, Date.parse('2026-12-01T12:00:00Z'))).toBe(ms);
  });
});

describe('SinkQueue', () => {
  it('delivers in order, one at a time', async () => {
    const h = harness([]);
    for (const id of ['a', 'b', 'c']) h.queue.push(d(id));
    await h.queue.close(Date.now() + 1000);
    expect(h.sent).toEqual(['a', 'b', 'c']);
    expect(h.results.map((r) => r[0])).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('retries a sink that is down with growing waits, and what queued behind goes after', async () => {
    const h = harness([down(), down(), { ok: false, retry: true, detail: 'HTTP 503' }]);
    h.queue.push(d('a'));
    h.queue.push(d('b'));
    await h.queue.close(Date.now() + 1000);
    expect(h.sent).toEqual(['a', 'a', 'a', 'a', 'b']);
    expect(h.slept).toEqual([100, 200, 400]);
    expect(h.results.map((r) => r.slice(0, 2))).toEqual([
      ['delivered', 'a'],
      ['delivered', 'b'],
    ]);
  });

  it('gives up after maxAttempts, counts it failed with the last reason, and goes on', async () => {
    const h = harness([down(), down(), down(), down('HTTP 502')]);
    h.queue.push(d('a'));
    h.queue.push(d('b'));
    await h.queue.close(Date.now() + 1000);
    expect(h.sent).toEqual(['a', 'a', 'a', 'a', 'b']);
    expect(h.slept).toHaveLength(3);
    expect(h.results).toEqual([
      ['failed', 'a', 'attempt 4/4: HTTP 502'],
      ['delivered', 'b', undefined],
    ]);
  });

  it('does not retry a refusal another try cannot change', async () => {
    const h = harness([{ ok: false, retry: false, detail: 'HTTP 404' }]);
    h.queue.push(d('a'));
    await h.queue.close(Date.now() + 1000);
    expect(h.sent).toEqual(['a']);
    expect(h.results).toEqual([['failed', 'a', 'attempt 1/4: HTTP 404']]);
  });

  it('a send that throws counts as a retryable failure', async () => {
    let calls = 0;
    const h = harness([], {
      send: () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return Promise.resolve({ ok: true });
      },
    });
    h.queue.push(d('a'));
    await h.queue.close(Date.now() + 1000);
    expect(calls).toBe(2);
    expect(h.results.map((r) => r[0])).toEqual(['delivered']);
  });

  it('push returns at once while the sink hangs; a full queue drops the oldest waiting', async () => {
    let release: (r: SendResult) => void = () => undefined;
    const sent: string[] = [];
    const results: [DeliveryResult, string][] = [];
    const queue = new SinkQueue({
      name: 's',
      queueSize: 2,
      maxAttempts: 1,
      backoffMs: 10,
      maxBackoffMs: 10,
      send: (delivery) => {
        sent.push(delivery.id);
        return new Promise((r) => (release = r));
      },
      onResult: (result, delivery) => results.push([result, delivery.id]),
    });
    // `a` is in flight (the sink does not answer); b, c wait; d and e push the oldest out.
    for (const id of ['a', 'b', 'c', 'd', 'e']) queue.push(d(id));
    expect(sent).toEqual(['a']);
    expect(queue.length).toBe(2);
    expect(results).toEqual([
      ['dropped', 'b'],
      ['dropped', 'c'],
    ]);
    release({ ok: true });
    await new Promise((r) => setTimeout(r, 0));
    release({ ok: true });
    await new Promise((r) => setTimeout(r, 0));
    release({ ok: true });
    await queue.close(Date.now() + 1000);
    expect(sent).toEqual(['a', 'd', 'e']);
    expect(results.slice(2)).toEqual([
      ['delivered', 'a'],
      ['delivered', 'd'],
      ['delivered', 'e'],
    ]);
  });

  it('close gives the queue until its deadline, then aborts the retry and drops the rest', async () => {
    const results: [DeliveryResult, string][] = [];
    const queue = new SinkQueue({
      name: 's',
      queueSize: 10,
      maxAttempts: 10,
      backoffMs: 60_000,
      maxBackoffMs: 60_000,
      send: () => Promise.resolve(down()),
      onResult: (result, delivery) => results.push([result, delivery.id]),
    });
    queue.push(d('a'));
    queue.push(d('b'));
    const started = Date.now();
    await queue.close(Date.now() + 50);
    // The real backoff (a minute) was cut short by the deadline.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(results).toEqual([
      ['failed', 'a'],
      ['dropped', 'b'],
    ]);
    queue.push(d('c'));
    expect(results.at(-1)).toEqual(['dropped', 'c']);
  });

  it('a push right after the queue ran empty starts delivering again', async () => {
    const h = harness([]);
    h.queue.push(d('a'));
    await new Promise((r) => setTimeout(r, 0));
    h.queue.push(d('b'));
    await h.queue.close(Date.now() + 1000);
    expect(h.sent).toEqual(['a', 'b']);
  });
});
