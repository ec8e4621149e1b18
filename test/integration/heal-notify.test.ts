// Every stage of a heal announced to real sink processes (CloudEvents over HTTP and a
// Slack-compatible webhook), while one sink is blackholed during the whole heal and another
// refuses its first requests: the heal finishes as promptly as without them, the working sink
// hears each stage as it happens, and the broken ones get everything, in order, by retry.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_NOTIFY_KINDS, type HealCloudEvent } from '../../src/notify/index.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const pool = uniqueName('ntfy');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
const publicUrl = 'https://nodeheal.example.test';

interface Received {
  contentType: string;
  body: unknown;
  at: number;
}

interface Sink {
  url: string;
  received: () => Promise<Received[]>;
  refused: () => Promise<number>;
  hung: () => Promise<number>;
  stop: () => Promise<void>;
}

const running: ChildProcess[] = [];

/** Starts test/fixtures/notify-sink.ts on `port` and waits until it listens. */
async function startSink(port: number, env: Record<string, string> = {}): Promise<Sink> {
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'fixtures', 'notify-sink.ts')], {
    env: { ...process.env, NOTIFY_SINK_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(`sink on ${port} (${output})`, () => output.includes('listening'), 15_000, 50);
  const url = `http://127.0.0.1:${port}`;
  const state = async () =>
    (await (await fetch(`${url}/received`)).json()) as {
      received: Received[];
      refused: number;
      hung: number;
    };
  return {
    url: `${url}/events`,
    received: async () => (await state()).received,
    refused: async () => (await state()).refused,
    hung: async () => (await state()).hung,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let kube: KubeClients;
let harness: Harness | undefined;
let nodes: string[] = [];
let events: Sink;
let chat: Sink;
let ignored: Sink;
let latePort: number;
let blackhole: Sink;

beforeAll(async () => {
  kube = adminClients(stack);
  nodes = await createNodePool(kube, { name: pool, size: 3 });
  events = await startSink(await freePort());
  chat = await startSink(await freePort(), { NOTIFY_SINK_FAIL_FIRST: '2' });
  ignored = await startSink(await freePort());
  // The late sink's port takes requests and never answers until the heal is over.
  latePort = await freePort();
  blackhole = await startSink(latePort, { NOTIFY_SINK_HANG: 'true' });
  const sinks = [
    { name: 'events', url: events.url, pools: [pool], backoffMs: 200 },
    // Each attempt waits out its 2 s timeout: an announce that waited for it would hold every
    // stage of the heal for a minute.
    {
      name: 'late',
      url: `http://127.0.0.1:${latePort}/events`,
      timeoutMs: 2000,
      maxAttempts: 30,
      backoffMs: 500,
      maxBackoffMs: 2000,
    },
    { name: 'chat', url: chat.url, format: 'slack', backoffMs: 300 },
    { name: 'ignored', url: ignored.url, pools: ['no-such-pool'] },
  ];
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [
        { action: 'drain', timeout: '60s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_NOTIFY_SINKS: JSON.stringify(sinks),
      NODEHEAL_CLUSTER_NAME: 'stack-test',
      NODEHEAL_PUBLIC_URL: publicUrl,
    },
  });
});

afterAll(async () => {
  await harness?.stop();
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (kube) await deleteNodePool(kube, pool);
});

const cloudEvents = (received: Received[]) => received.map((r) => r.body as HealCloudEvent);

describe('heal notifications', () => {
  it('announces every stage to every sink, without a broken sink holding the heal back', async () => {
    const victim = nodes[0]!;
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    const heal = await harness!.finishedHeal(victim, 150_000);
    expect(heal.status, JSON.stringify(heal.transitions.map((t) => t.detail))).toBe('healed');
    // The blackholed sink cost the heal nothing: one of its attempts alone takes 2 s, and its
    // first notification would hold a waiting heal for 30 attempts.
    expect(heal.endedAt! - heal.createdAt).toBeLessThan(40_000);
    // It was asked during the heal, and is still asked: the heal ended with it unanswered.
    expect(await blackhole.hung()).toBeGreaterThanOrEqual(1);
    expect(await harness!.workerMetric('nodeheal_notifications_total', { sink: 'late' })).toBe(0);

    // What the sinks must get: each stage of the record, in order (the notes are not stages).
    const stages = heal.transitions
      .map((t, i) => ({ t, i }))
      .filter(({ t }) => DEFAULT_NOTIFY_KINDS.includes(t.kind));
    const types = stages.map(({ t }) => `io.nodeheal.heal.${t.kind}`);
    expect(types[0]).toBe('io.nodeheal.heal.started');
    expect(types.at(-1)).toBe('io.nodeheal.heal.healed');
    expect(types).toEqual(expect.arrayContaining(['io.nodeheal.heal.acting']));
    expect(types.filter((t) => t === 'io.nodeheal.heal.step-done').length).toBeGreaterThanOrEqual(
      1,
    );

    // The working sink: CloudEvents 1.0 structured mode, one per stage, each as it happened.
    const got = await eventually(
      'every stage at the events sink',
      async () => {
        const r = (await events.received()).filter(
          (e) => (e.body as HealCloudEvent).data.healId === heal.id,
        );
        return r.length >= stages.length ? r : undefined;
      },
      60_000,
    );
    expect(got.map((r) => r.contentType)).toEqual(
      Array(stages.length).fill('application/cloudevents+json; charset=utf-8'),
    );
    const ces = cloudEvents(got);
    expect(ces.map((e) => e.type)).toEqual(types);
    expect(ces.map((e) => e.id)).toEqual(stages.map(({ i }) => `${heal.id}/${i}`));
    expect(new Set(ces.map((e) => e.id)).size).toBe(ces.length);
    for (const [n, e] of ces.entries()) {
      const { t } = stages[n]!;
      expect(e).toMatchObject({
        specversion: '1.0',
        source: 'nodeheal/stack-test',
        subject: victim,
        time: new Date(t.at).toISOString(),
        datacontenttype: 'application/json',
        data: {
          healId: heal.id,
          node: victim,
          pool,
          fault: 'kernel-deadlock',
          step: t.step,
          action: t.action,
          detail: t.detail,
          link: `${publicUrl}/heals/${encodeURIComponent(heal.id)}`,
        },
      });
      // Heard while the heal ran, not at its end: the blackholed sink's queue is its own.
      expect(got[n]!.at - t.at).toBeLessThan(3000);
    }
    expect(ces.at(-1)?.data.status).toBe('healed');
    expect(ces.slice(0, -1).every((e) => e.data.status === 'running')).toBe(true);

    // The Slack-compatible sink refused twice, then got one line per stage.
    const lines = await eventually(
      'every stage at the chat sink',
      async () => {
        const r = await chat.received();
        return r.length >= stages.length ? r : undefined;
      },
      30_000,
    );
    expect(await chat.refused()).toBe(2);
    expect(lines.map((l) => Object.keys(l.body as object))).toEqual(
      Array(stages.length).fill(['text']),
    );
    const texts = lines.map((l) => (l.body as { text: string }).text);
    for (const text of texts) {
      expect(text).not.toContain('\n');
      expect(text).toContain(`*stack-test* ${victim} (pool ${pool}):`);
      expect(text).toContain(`<${publicUrl}/heals/${encodeURIComponent(heal.id)}|status>`);
    }
    expect(texts[0]).toContain('heal started (step 1/2 drain)');
    expect(texts.at(-1)).toMatch(/^:white_check_mark: .* heal healed · kernel-deadlock · /);

    // The late sink comes back on its port: everything queued reaches it, in order, same ids.
    await blackhole.stop();
    const late = await startSink(latePort);
    const lateGot = await eventually(
      'every stage at the late sink',
      async () => {
        const r = await late.received();
        return r.length >= stages.length ? r : undefined;
      },
      60_000,
    );
    expect(cloudEvents(lateGot).map((e) => e.id)).toEqual(ces.map((e) => e.id));
    expect(cloudEvents(lateGot)).toEqual(ces);

    // A sink for other pools heard nothing.
    expect(await ignored.received()).toEqual([]);
    const metric = (sink: string, result: string) =>
      harness!.workerMetric('nodeheal_notifications_total', { sink, result });
    // A delivery is counted once the sink's answer is back in the worker, after the sink saw it.
    const counted = (sink: string) =>
      harness!.workerMetricIs(
        'nodeheal_notifications_total',
        { sink, result: 'delivered' },
        stages.length,
      );
    await counted('late');
    await counted('events');
    await counted('chat');
    expect(await metric('late', 'dropped')).toBe(0);
    expect(await metric('ignored', 'delivered')).toBe(0);
    await late.stop();
  });
});
