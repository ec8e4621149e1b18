// The JSON views of heal records: links, summaries, ladder progress and details.
import { describe, expect, it } from 'vitest';
import type { HealRecord, Observation } from '../../../src/heal/index.ts';
import {
  currentHeal,
  HEAL_ID_PATTERN,
  healDetail,
  healSummary,
  statusLinks,
  stepViews,
  type StepProgress,
} from '../../../src/status/heal-views.ts';
import {
  abandoned,
  done,
  drive,
  escalatedToReboot,
  failed,
  fresh,
  healedByKubelet,
  MIN,
  SEC,
  start,
  T0,
} from './fixtures.ts';

const GENERIC = [
  { action: 'cordon', timeoutMs: MIN },
  { action: 'drain', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
] as const;

const cancel: Observation = { kind: 'cancel', by: 'admin-api', detail: 'operator' };
const dailyCap: Observation = {
  kind: 'safety-blocked',
  gate: 'daily-cap',
  detail: '3 heals in 24h',
  step: 0,
};
const optOut: Observation = {
  kind: 'safety-blocked',
  gate: 'opt-out',
  detail: 'worker-1 is labelled nodeheal.io/exclude=true',
};
const paused = (step: number): Observation => ({
  kind: 'safety-blocked',
  gate: 'paused',
  detail: 'nodeheal is paused',
  step,
  defer: true,
  until: T0 + 10 * MIN,
});

describe('statusLinks', () => {
  it.each([
    [undefined, '/heals', '/heals/h-1', '/nodes/worker-1'],
    ['', '/heals', '/heals/h-1', '/nodes/worker-1'],
    [
      'https://heal.example.com',
      'https://heal.example.com/heals',
      'https://heal.example.com/heals/h-1',
      'https://heal.example.com/nodes/worker-1',
    ],
    [
      'https://heal.example.com/',
      'https://heal.example.com/heals',
      'https://heal.example.com/heals/h-1',
      'https://heal.example.com/nodes/worker-1',
    ],
    [
      'http://10.0.0.1:8080/nodeheal/',
      'http://10.0.0.1:8080/nodeheal/heals',
      'http://10.0.0.1:8080/nodeheal/heals/h-1',
      'http://10.0.0.1:8080/nodeheal/nodes/worker-1',
    ],
    ['javascript:alert(1)', '/heals', '/heals/h-1', '/nodes/worker-1'],
    ['not a url', '/heals', '/heals/h-1', '/nodes/worker-1'],
  ])('public URL %j', (publicUrl, heals, heal, node) => {
    const links = statusLinks(publicUrl);
    expect(links.heals()).toBe(heals);
    expect(links.heal('h-1')).toBe(heal);
    expect(links.node('worker-1')).toBe(node);
  });

  it('percent-encodes ids as one path segment', () => {
    expect(statusLinks().heal('heal:worker-1:disk/../x?y#z')).toBe(
      '/heals/heal%3Aworker-1%3Adisk%2F..%2Fx%3Fy%23z',
    );
  });

  it('drops query and fragment of the public URL', () => {
    expect(statusLinks('https://h.example.com/p?x=1#f').heals()).toBe(
      'https://h.example.com/p/heals',
    );
  });
});

describe('HEAL_ID_PATTERN', () => {
  it.each([
    ['heal-0001', true],
    ['heal:worker-1:node-not-ready:1740830400000', true],
    ['01JNC5.abc_DEF', true],
    ['x'.repeat(200), true],
    ['x'.repeat(201), false],
    ['', false],
    ['a/b', false],
    ['a b', false],
    ['<script>', false],
    ['%2e%2e', false],
    ['ok\n', false],
  ])('%j → %s', (id, ok) => {
    expect(HEAL_ID_PATTERN.test(id)).toBe(ok);
  });
});

describe('healSummary', () => {
  it('maps a running record to its summary with links', () => {
    const record = escalatedToReboot({ id: 'heal-7', node: 'worker-7', pool: 'gpu' });
    expect(healSummary(record, statusLinks('https://h.example.com'))).toEqual({
      id: 'heal-7',
      node: 'worker-7',
      fault: 'node-not-ready',
      pool: 'gpu',
      status: 'running',
      step: 'reboot',
      stepIndex: 1,
      stepState: 'acting',
      ladderLength: 3,
      createdAt: T0,
      updatedAt: T0 + 10 * SEC,
      endedAt: null,
      outcomeReason: null,
      gate: null,
      dryRun: false,
      links: {
        self: 'https://h.example.com/heals/heal-7',
        node: 'https://h.example.com/nodes/worker-7',
      },
    });
  });

  it('carries the outcome of a finished heal', () => {
    const summary = healSummary(healedByKubelet({ dryRun: true }), statusLinks());
    expect(summary).toMatchObject({
      status: 'healed',
      step: 'restart-kubelet',
      stepIndex: 0,
      dryRun: true,
      endedAt: T0 + 90 * SEC,
    });
    expect(summary.outcomeReason).toContain('restart-kubelet worked');
  });

  it('says which gate skipped a heal', () => {
    const summary = healSummary(drive(fresh(), [[0, optOut]]), statusLinks());
    expect(summary).toMatchObject({ status: 'skipped', endedAt: T0 });
    expect(summary.outcomeReason).toMatch(/^skipped: safety gate opt-out refused restart-kubelet/);
  });
});

type Expected = [StepProgress, 'success' | 'failure' | null, number][];

describe('stepViews', () => {
  it.each<[string, () => HealRecord, Expected]>([
    [
      'not started: the first step is current',
      () => fresh(),
      [
        ['current', null, 0],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'acting the first step',
      () => drive(fresh(), [[0, start]]),
      [
        ['current', null, 1],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'escalated: first step done (failed), second current',
      () => escalatedToReboot(),
      [
        ['done', 'failure', 1],
        ['current', null, 1],
        ['pending', null, 0],
      ],
    ],
    [
      'healed by the first step',
      () => healedByKubelet(),
      [
        ['done', 'success', 1],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'abandoned: every step failed',
      () => abandoned(),
      [
        ['done', 'failure', 1],
        ['done', 'failure', 1],
        ['done', 'failure', 1],
      ],
    ],
    [
      'retried: the retries count as attempts',
      () =>
        drive(fresh(), [
          [0, start],
          [10 * SEC, { kind: 'step-failed', step: 0, detail: 'timeout', permanent: false }],
          [30 * SEC, { kind: 'tick' }],
        ]),
      [
        ['current', null, 2],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'cancelled before any step began',
      () => drive(fresh(), [[0, cancel]]),
      [
        ['pending', null, 0],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'cancelled while acting: stopped',
      () =>
        drive(fresh(), [
          [0, start],
          [5 * SEC, cancel],
        ]),
      [
        ['stopped', null, 1],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'blocked by a safety gate before acting: stopped',
      () =>
        drive(fresh(), [
          [0, start],
          [1 * SEC, optOut],
        ]),
      [
        ['stopped', null, 1],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'skipped by a safety gate before the start: the first step skipped',
      () => drive(fresh(), [[0, optOut]]),
      [
        ['skipped', null, 0],
        ['pending', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'held by a pause: current, and the hold is no attempt',
      () => drive(escalatedToReboot(), [[20 * SEC, paused(1)]]),
      [
        ['done', 'failure', 1],
        ['current', null, 0],
        ['pending', null, 0],
      ],
    ],
    [
      'held, then let go: one attempt',
      () =>
        drive(escalatedToReboot(), [
          [20 * SEC, paused(1)],
          [5 * MIN, { kind: 'gate-cleared', step: 1 }],
        ]),
      [
        ['done', 'failure', 1],
        ['current', null, 1],
        ['pending', null, 0],
      ],
    ],
    [
      'daily cap skips the expert remedies up to replace',
      () =>
        drive(fresh(), [
          [0, start],
          [1 * SEC, dailyCap],
        ]),
      [
        ['skipped', null, 1],
        ['skipped', null, 0],
        ['current', null, 1],
      ],
    ],
    [
      'generic ladder: cordon and drain done, replace verifying',
      () =>
        drive(fresh({ ladder: GENERIC, fault: 'unknown' }), [
          [0, start],
          [5 * SEC, done(0)],
          [60 * SEC, done(1)],
          [90 * SEC, done(2)],
        ]),
      [
        ['done', 'success', 1],
        ['done', 'success', 1],
        ['current', null, 1],
      ],
    ],
    [
      'generic ladder: drain failed, abandoned on it',
      () =>
        drive(fresh({ ladder: GENERIC, fault: 'unknown' }), [
          [0, start],
          [5 * SEC, done(0)],
          [60 * SEC, failed(1, 'PDB blocks eviction')],
        ]),
      [
        ['done', 'success', 1],
        ['done', 'failure', 1],
        ['pending', null, 0],
      ],
    ],
  ])('%s', (_name, build, expected) => {
    const steps = stepViews(build());
    expect(steps.map((s) => [s.state, s.result, s.attempts])).toEqual(expected);
    expect(steps.map((s) => s.index)).toEqual(expected.map((_, i) => i));
  });

  it('copies action and timeout from the ladder', () => {
    expect(stepViews(fresh()).map((s) => [s.action, s.timeoutMs])).toEqual([
      ['restart-kubelet', 3 * MIN],
      ['reboot', 10 * MIN],
      ['replace', 20 * MIN],
    ]);
  });
});

describe('healDetail', () => {
  const note = {
    healId: 'heal-0001',
    key: 'heal:worker-1:node-not-ready',
    node: 'worker-1',
    fault: 'node-not-ready',
    gate: 'pool-budget',
    detail: '1 of 1 nodes of pool general already healing',
    at: T0 + 5 * SEC,
    retryAt: T0 + 65 * SEC,
  };

  it('is the full record with steps, the blocked note, the cancel request and links', () => {
    const record = drive(fresh(), [[0, start]]);
    const detail = healDetail(
      record,
      { blocked: note, cancelRequestedBy: 'admin-api' },
      statusLinks(),
    );
    expect(detail).toMatchObject({ ...record, blocked: note, cancelRequestedBy: 'admin-api' });
    expect(detail.transitions).toEqual(record.transitions);
    expect(detail.steps).toHaveLength(3);
    expect(detail.links).toEqual({
      self: '/heals/heal-0001',
      node: '/nodes/worker-1',
      replacement: null,
    });
  });

  it('names the gate that holds a running heal, and the gate that skipped one', () => {
    const held = drive(escalatedToReboot(), [[20 * SEC, paused(1)]]);
    expect(healDetail(held, {}, statusLinks())).toMatchObject({
      status: 'running',
      stepIndex: 1,
      stepState: 'pending',
      gate: 'paused',
    });
    const skipped = drive(fresh(), [[0, optOut]]);
    expect(healDetail(skipped, {}, statusLinks())).toMatchObject({
      status: 'skipped',
      gate: 'opt-out',
      blocked: null,
    });
  });

  it('drops a stale blocked note and cancel request once the heal ended', () => {
    const detail = healDetail(
      healedByKubelet(),
      { blocked: note, cancelRequestedBy: 'x' },
      statusLinks(),
    );
    expect(detail.blocked).toBeNull();
    expect(detail.cancelRequestedBy).toBeNull();
  });

  it('is JSON-serialisable', () => {
    const detail = healDetail(abandoned(), {}, statusLinks());
    expect(JSON.parse(JSON.stringify(detail))).toEqual(detail);
  });
});

describe('currentHeal', () => {
  it.each<[string, HealRecord[], string | undefined]>([
    ['none', [], undefined],
    ['only finished', [healedByKubelet({ id: 'a' }), abandoned({ id: 'b' })], undefined],
    [
      'the newest running',
      [healedByKubelet({ id: 'a' }), fresh({ id: 'b' }), fresh({ id: 'c' })],
      'b',
    ],
  ])('%s', (_name, records, id) => {
    expect(currentHeal(records)?.id).toBe(id);
  });
});
