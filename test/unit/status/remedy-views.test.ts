// GET /remedies: success rates, learned durations per pool and fault, expected time to heal.
import { describe, expect, it } from 'vitest';
import { newHealRecord, type DurationTable } from '../../../src/heal/index.ts';
import { remediesView, renderRemediesPage } from '../../../src/status/remedy-views.ts';
import { statusLinks } from '../../../src/status/heal-views.ts';

const record = (id: string, pool: string, actions: ('restart-kubelet' | 'reboot' | 'replace')[]) =>
  newHealRecord({
    id,
    node: 'worker-1',
    fault: 'kernel-deadlock',
    pool,
    ladder: actions.map((action) => ({ action, timeoutMs: 60_000 })),
    faultStartedAt: 0,
    now: new Date(1000),
  });

const durations: DurationTable = {
  'pool-a/kernel-deadlock:reboot': [4000, 2000, 3000],
  'pool-a/kernel-deadlock:restart-kubelet': [10_000],
  'not a key': [1],
};

describe('remediesView', () => {
  const view = remediesView(
    { 'kernel-deadlock:reboot': { capacity: 100, outcomes: '1' } },
    durations,
    [
      record('h-new', 'pool-a', ['reboot', 'restart-kubelet', 'replace']),
      record('h-old', 'pool-a', ['restart-kubelet', 'reboot', 'replace']),
      record('h-b', 'pool-b', ['reboot', 'replace']),
    ],
  );

  it('lists rates and durations (p50, mean, count) per pool, fault and step', () => {
    expect(view.rates).toEqual([
      { fault: 'kernel-deadlock', action: 'reboot', attempts: 1, successes: 1, rate: 1 },
    ]);
    expect(view.durations).toEqual([
      {
        pool: 'pool-a',
        fault: 'kernel-deadlock',
        action: 'reboot',
        count: 3,
        p50Ms: 3000,
        meanMs: 3000,
      },
      {
        pool: 'pool-a',
        fault: 'kernel-deadlock',
        action: 'restart-kubelet',
        count: 1,
        p50Ms: 10_000,
        meanMs: 10_000,
      },
    ]);
  });

  it('gives the expected time to heal per pool and fault, for the newest heal’s ladder', () => {
    expect(view.expected.map((e) => [e.pool, e.healId])).toEqual([
      ['pool-a', 'h-new'],
      ['pool-b', 'h-b'],
    ]);
    const a = view.expected[0];
    // reboot: 3 s, p = 2/3; restart-kubelet: 10 s, p = 1/2; replace: its timeout, 60 s.
    expect(a?.steps.map((s) => [s.action, s.durationMs, s.samples])).toEqual([
      ['reboot', 3000, 3],
      ['restart-kubelet', 10_000, 1],
      ['replace', 60_000, 0],
    ]);
    expect(a?.steps[2]?.expectedMs).toBe(60_000);
    expect(a?.steps[1]?.expectedMs).toBe(40_000);
    expect(a?.expectedMs).toBe(Math.round(3000 + (1 / 3) * 40_000));
  });

  it('renders a page with the three tables, escaped', () => {
    const page = renderRemediesPage(view, { now: new Date(0), links: statusLinks() });
    expect(page).toContain('Expected time to heal');
    expect(page).toContain('Learned durations');
    expect(page).toContain('Success rates');
    expect(page).toContain('pool-b');
    const hostile = remediesView({}, { '<b>x</b>/f:reboot': [1] }, []);
    expect(renderRemediesPage(hostile, { now: new Date(0), links: statusLinks() })).not.toContain(
      '<b>x</b>',
    );
  });
});
