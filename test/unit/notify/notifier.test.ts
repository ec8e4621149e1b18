// The notifier: which sink gets which transition (pools, kinds), in which format, and that
// queuing a notification never throws or waits; plus the NODEHEAL_NOTIFY_SINKS contract.
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../../src/config/index.ts';
import { newHealRecord, type HealRecord, type Transition } from '../../../src/heal/index.ts';
import { silentLogger } from '../../../src/log/index.ts';
import {
  DEFAULT_NOTIFY_KINDS,
  createNotifier,
  notifySinksSchema,
  sinkWants,
  type Delivery,
  type NotifySink,
  type NotifySinkInput,
} from '../../../src/notify/index.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');

function record(pool: string, kinds: Transition['kind'][]): HealRecord {
  const r = newHealRecord({
    id: `heal-${pool}`,
    node: `${pool}-1`,
    fault: 'kernel-deadlock',
    pool,
    ladder: [{ action: 'replace', timeoutMs: 60_000 }],
    faultStartedAt: T0,
    now: new Date(T0),
  });
  return {
    ...r,
    transitions: kinds.map((kind, i) => ({
      at: T0 + i,
      kind,
      step: 0,
      action: 'replace',
      from: 'pending',
      to: kind === 'healed' ? 'healed' : 'acting',
      detail: kind,
    })),
  };
}

const sinks = (input: NotifySinkInput[]): NotifySink[] => notifySinksSchema.parse(input);

/** A notifier whose sinks record what they were sent (all answered at once). */
function recording(input: NotifySinkInput[]) {
  const got: { sink: string; delivery: Delivery }[] = [];
  const notifier = createNotifier({
    sinks: sinks(input),
    source: 'nodeheal/test',
    logger: silentLogger(),
    send: (sink, delivery) => {
      got.push({ sink: sink.name, delivery });
      return Promise.resolve({ ok: true });
    },
  });
  return { notifier, got };
}

describe('sinkWants', () => {
  const [all, blue, healedOnly] = sinks([
    { url: 'http://a.test/' },
    { url: 'http://b.test/', pools: ['blue'] },
    { url: 'http://c.test/', kinds: ['healed', 'fault-firing'] },
  ]);
  it.each([
    [all, 'started', 'red', true],
    [all, 'held', 'red', true],
    // Notes are left out unless a sink asks for them.
    [all, 'fault-firing', 'red', false],
    [all, 'fault-joined', 'red', false],
    [blue, 'started', 'blue', true],
    [blue, 'started', 'red', false],
    [healedOnly, 'healed', 'red', true],
    [healedOnly, 'fault-firing', 'red', true],
    [healedOnly, 'started', 'red', false],
  ])('%#: %s for a %s transition of pool %s: %s', (sink, kind, pool, wants) => {
    expect(sinkWants(sink!, kind, pool)).toBe(wants);
  });

  it('every stage of a heal is announced by default', () => {
    for (const kind of ['started', 'acting', 'step-done', 'held', 'escalated', 'healed'])
      expect(DEFAULT_NOTIFY_KINDS).toContain(kind);
    for (const kind of ['abandoned', 'skipped', 'cancelled', 'retry-scheduled'])
      expect(DEFAULT_NOTIFY_KINDS).toContain(kind);
  });
});

describe('createNotifier', () => {
  it('sends CloudEvents and Slack lines to the sinks that want them', async () => {
    const { notifier, got } = recording([
      { name: 'events', url: 'http://events.test/' },
      { name: 'chat', url: 'https://hooks.slack.test/x', format: 'slack', pools: ['blue'] },
    ]);
    const blue = record('blue', ['started', 'fault-firing', 'healed']);
    const red = record('red', ['started']);
    for (let i = 0; i < blue.transitions.length; i++) notifier.transition(blue, i);
    notifier.transition(red, 0);
    await notifier.close(1000);

    const events = got.filter((g) => g.sink === 'events').map((g) => g.delivery);
    expect(events.map((e) => e.contentType)).toEqual(
      Array(3).fill('application/cloudevents+json; charset=utf-8'),
    );
    const bodies = events.map((e) => JSON.parse(e.body) as { type: string; id: string });
    expect(bodies.map((b) => [b.type, b.id])).toEqual([
      ['io.nodeheal.heal.started', 'heal-blue/0'],
      ['io.nodeheal.heal.healed', 'heal-blue/2'],
      ['io.nodeheal.heal.started', 'heal-red/0'],
    ]);

    const chat = got.filter((g) => g.sink === 'chat').map((g) => g.delivery);
    expect(chat.map((c) => c.contentType)).toEqual(
      Array(2).fill('application/json; charset=utf-8'),
    );
    expect(chat.map((c) => Object.keys(JSON.parse(c.body) as object))).toEqual([
      ['text'],
      ['text'],
    ]);
    expect((JSON.parse(chat[1]!.body) as { text: string }).text).toMatch(
      /^:white_check_mark: \*test\* blue-1 \(pool blue\): heal healed/,
    );
  });

  it('never throws into the heal, and returns before any sink answered', () => {
    const notifier = createNotifier({
      sinks: sinks([{ url: 'http://a.test/' }]),
      source: 'nodeheal/test',
      logger: silentLogger(),
      send: () => new Promise(() => undefined),
    });
    const r = record('blue', ['started']);
    expect(() => notifier.transition(r, 5)).not.toThrow();
    expect(() => notifier.transition({ ...r, transitions: null } as never, 0)).not.toThrow();
    expect(notifier.transition(r, 0)).toBeUndefined();
  });

  it('counts each result per sink', async () => {
    const counted: string[] = [];
    const notifier = createNotifier({
      sinks: sinks([{ name: 'bad', url: 'http://a.test/', maxAttempts: 1 }]),
      source: 'nodeheal/test',
      logger: silentLogger(),
      send: () => Promise.resolve({ ok: false, retry: false, detail: 'HTTP 401' }),
      onResult: (sink, result) => counted.push(`${sink}:${result}`),
    });
    notifier.transition(record('blue', ['started']), 0);
    await notifier.close(1000);
    expect(counted).toEqual(['bad:failed']);
  });
});

describe('NODEHEAL_NOTIFY_SINKS', () => {
  it('fills in defaults and names', () => {
    const config = loadWorkerConfig({
      NODEHEAL_NOTIFY_SINKS: JSON.stringify([
        { url: 'https://events.example/ingest' },
        { name: 'ops-chat', url: 'https://hooks.slack.com/services/T/B/x', format: 'slack' },
      ]),
    });
    expect(config.NODEHEAL_NOTIFY_SINKS).toEqual([
      {
        name: 'sink-1',
        url: 'https://events.example/ingest',
        format: 'cloudevents',
        timeoutMs: 5000,
        maxAttempts: 6,
        backoffMs: 1000,
        maxBackoffMs: 60_000,
        queueSize: 1000,
      },
      expect.objectContaining({ name: 'ops-chat', format: 'slack' }),
    ]);
  });

  it.each([
    ['not JSON', '[{', /NODEHEAL_NOTIFY_SINKS: expected JSON/],
    ['not a list', '{}', /NODEHEAL_NOTIFY_SINKS: /],
    ['no URL', '[{}]', /NODEHEAL_NOTIFY_SINKS\.0\.url: /],
    [
      'a non-http URL',
      '[{"url":"ftp://x.test/"}]',
      /NODEHEAL_NOTIFY_SINKS\.0\.url: an http or https URL/,
    ],
    ['an unknown format', '[{"url":"http://x.test/","format":"teams"}]', /\.0\.format: /],
    ['an unknown field', '[{"url":"http://x.test/","retries":3}]', /retries/],
    ['an unknown kind', '[{"url":"http://x.test/","kinds":["done"]}]', /\.0\.kinds\.0: /],
    ['no attempt at all', '[{"url":"http://x.test/","maxAttempts":0}]', /\.0\.maxAttempts: /],
    [
      'a backoff over its cap',
      '[{"url":"http://x.test/","backoffMs":5000,"maxBackoffMs":1000}]',
      /\.0\.backoffMs: backoffMs must not exceed maxBackoffMs/,
    ],
    [
      'a name twice',
      '[{"url":"http://x.test/","name":"a"},{"url":"http://y.test/","name":"a"}]',
      /NODEHEAL_NOTIFY_SINKS\.1\.name: duplicate sink name a/,
    ],
  ])('%s is refused with the field named', (_, value, message) => {
    expect(() => loadWorkerConfig({ NODEHEAL_NOTIFY_SINKS: value })).toThrow(message);
  });

  it('NODEHEAL_CLUSTER_NAME must be a plain name', () => {
    expect(loadWorkerConfig({ NODEHEAL_CLUSTER_NAME: 'prod-eu.1' }).NODEHEAL_CLUSTER_NAME).toBe(
      'prod-eu.1',
    );
    expect(() => loadWorkerConfig({ NODEHEAL_CLUSTER_NAME: 'a b' })).toThrow(
      /NODEHEAL_CLUSTER_NAME: letters, digits/,
    );
  });
});
