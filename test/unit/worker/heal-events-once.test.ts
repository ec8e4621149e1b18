// A heal's Events are named after what they tell (a transition's index, a step's attempt), so a
// resumed heal writing them again adds none: the keys the worker passes to NodeOps.event.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newHealRecord, type HealRecord, type Transition } from '../../../src/heal/index.ts';
import { silentLogger } from '../../../src/log/index.ts';
import {
  announce,
  event,
  EVENT_RETRY_MS,
  flushEvents,
  forgetToldEvents,
  reannounceEvents,
  type HealEventDeps,
} from '../../../src/worker/heal-events.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');

function record(kinds: Transition['kind'][]): HealRecord {
  const r = newHealRecord({
    id: 'heal-7',
    node: 'n-1',
    fault: 'kernel-deadlock',
    pool: 'p',
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

function recordingDeps() {
  const written: { reason: string; key: string | undefined }[] = [];
  const deps: HealEventDeps = {
    logger: silentLogger(),
    nodeOps: {
      event: (_node, reason, _message, _type, key) => {
        written.push({ reason, key });
        return Promise.resolve();
      },
    },
  };
  return { deps, written };
}

describe("a heal's transition Events", () => {
  afterEach(() => {
    forgetToldEvents();
  });

  it('are keyed by the heal and the transition index', async () => {
    const r = record(['started', 'acting', 'healed']);
    const { deps, written } = recordingDeps();
    for (const t of r.transitions) announce(deps, r, t);
    await flushEvents(r.id);
    // acting has no Event; the others carry their index.
    expect(written).toEqual([
      { reason: 'HealStarted', key: 'heal-7/t0' },
      { reason: 'HealSucceeded', key: 'heal-7/t2' },
    ]);
  });

  it('are written again, with the same keys, when a heal resumes', async () => {
    const r = record(['started', 'acting', 'healed']);
    const first = recordingDeps();
    for (const t of r.transitions) announce(first.deps, r, t);
    await flushEvents(r.id);
    // Another worker resumes it: it knows nothing of what the first one wrote.
    forgetToldEvents();
    const resumed = recordingDeps();
    reannounceEvents(resumed.deps, r);
    await flushEvents(r.id);
    expect(resumed.written).toEqual(first.written);
  });
});

/** NodeOps.event failing with `code` for the first `failures` calls, then writing. */
function failingDeps(code: string, failures: number) {
  let calls = 0;
  const warnings: string[] = [];
  const logger = silentLogger();
  logger.warn = ((_obj: unknown, msg: string) => {
    warnings.push(msg);
  }) as unknown as typeof logger.warn;
  const deps: HealEventDeps = {
    logger,
    nodeOps: {
      event: () => {
        calls += 1;
        if (calls <= failures)
          return Promise.reject(Object.assign(new Error(`failed ${calls}`), { code }));
        return Promise.resolve();
      },
    },
  };
  return { deps, calls: () => calls, warnings };
}

describe('an Event through an apiserver outage', () => {
  afterEach(() => {
    vi.useRealTimers();
    forgetToldEvents();
  });

  it('is written again while the apiserver is away, when it has a key', async () => {
    vi.useFakeTimers();
    const f = failingDeps('KUBE_TRANSIENT', 4);
    const done = event(f.deps, 'n-1', 'NodeDrained', 'heal h: drained', 'Normal', 'h/s0/a0/x');
    await vi.advanceTimersByTimeAsync(20_000);
    await done;
    expect(f.calls()).toBe(5);
    expect(f.warnings).toEqual([]);
  });

  it('gives up (logged, never thrown) after EVENT_RETRY_MS', async () => {
    vi.useFakeTimers();
    const f = failingDeps('KUBE_TRANSIENT', 1000);
    const done = event(f.deps, 'n-1', 'NodeDrained', 'heal h: drained', 'Normal', 'h/s0/a0/x');
    await vi.advanceTimersByTimeAsync(EVENT_RETRY_MS + 10_000);
    await done;
    expect(f.warnings).toEqual(['could not record event']);
    expect(f.calls()).toBeGreaterThan(3);
  });

  it('is not written again without a key (a lost answer could double it), nor on a refusal', async () => {
    const unkeyed = failingDeps('KUBE_TRANSIENT', 1);
    await event(unkeyed.deps, 'n-1', 'HealSkipped', 'heal h: waits', 'Warning');
    expect(unkeyed.calls()).toBe(1);
    const refused = failingDeps('KUBE_PERMANENT', 1);
    await event(refused.deps, 'n-1', 'NodeDrained', 'heal h: drained', 'Normal', 'h/s0/a0/x');
    expect(refused.calls()).toBe(1);
    expect(refused.warnings).toEqual(['could not record event']);
  });
});

describe('an Event this worker told already', () => {
  it('is not written again (no read, no refused create), until another worker', async () => {
    forgetToldEvents();
    const { deps, written } = recordingDeps();
    for (let i = 0; i < 3; i++)
      await event(deps, 'n-1', 'HealSkipped', 'heal h waits: storm', 'Warning', 'h/waits/storm');
    await event(deps, 'n-1', 'HealSkipped', 'heal h waits: budget', 'Warning', 'h/waits/budget');
    expect(written).toEqual([
      { reason: 'HealSkipped', key: 'h/waits/storm' },
      { reason: 'HealSkipped', key: 'h/waits/budget' },
    ]);
    forgetToldEvents();
  });
});
