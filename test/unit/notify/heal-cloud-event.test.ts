// The pure formatting of heal notifications: a transition as a CloudEvent, and as a Slack line.
import { describe, expect, it } from 'vitest';
import { newHealRecord, type HealRecord, type Transition } from '../../../src/heal/index.ts';
import { healCloudEvent, slackEscape, slackMessage } from '../../../src/notify/index.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');

function record(transitions: Partial<Transition>[], dryRun = false): HealRecord {
  const r = newHealRecord({
    id: 'heal-abc',
    node: 'kw-1',
    fault: 'kernel-deadlock',
    pool: 'blue',
    ladder: [
      { action: 'drain', timeoutMs: 60_000 },
      { action: 'replace', timeoutMs: 60_000 },
    ],
    faultStartedAt: T0 - 60_000,
    now: new Date(T0),
    dryRun,
  });
  return {
    ...r,
    transitions: transitions.map((t, i) => ({
      at: T0 + i * 1000,
      kind: 'acting',
      step: 0,
      action: 'drain',
      from: 'pending',
      to: 'acting',
      detail: 'detail',
      ...t,
    })),
  };
}

const source = 'nodeheal/prod-eu';

describe('healCloudEvent', () => {
  it('is a CloudEvents 1.0 structured event of the transition', () => {
    const r = record([
      { kind: 'started', detail: 'drain started' },
      { kind: 'step-done', from: 'acting', to: 'pending', detail: 'drained 3 pods' },
    ]);
    expect(healCloudEvent(r, 1, { source })).toEqual({
      specversion: '1.0',
      id: 'heal-abc/1',
      source,
      type: 'io.nodeheal.heal.step-done',
      subject: 'kw-1',
      time: '2026-12-01T12:00:01.000Z',
      datacontenttype: 'application/json',
      data: {
        healId: 'heal-abc',
        node: 'kw-1',
        pool: 'blue',
        fault: 'kernel-deadlock',
        kind: 'step-done',
        step: 0,
        steps: 2,
        action: 'drain',
        from: 'acting',
        to: 'pending',
        status: 'running',
        detail: 'drained 3 pods',
        dryRun: false,
      },
    });
  });

  it('ids are unique per transition and the same every time one is built', () => {
    const r = record([{ kind: 'started' }, { kind: 'acting' }, { kind: 'acting' }]);
    const ids = r.transitions.map((_, i) => healCloudEvent(r, i, { source }).id);
    expect(new Set(ids).size).toBe(3);
    expect(healCloudEvent(r, 2, { source }).id).toBe(ids[2]);
  });

  it.each([
    ['healed', 'healed', 'healed'],
    ['abandoned', 'abandoned', 'abandoned'],
    ['cancelled', 'cancelled', 'cancelled'],
    ['skipped', 'skipped', 'skipped'],
    // A step skipped within a heal: the heal goes on.
    ['skipped', 'pending', 'running'],
    ['held', 'pending', 'running'],
    ['escalated', 'pending', 'running'],
  ] as const)('a %s transition to %s says status %s', (kind, to, status) => {
    const r = record([{ kind, to }]);
    const e = healCloudEvent(r, 0, { source });
    expect(e.type).toBe(`io.nodeheal.heal.${kind}`);
    expect(e.data.status).toBe(status);
  });

  it.each([
    ['an absolute link', 'https://nodeheal.example/heals/heal-abc', true],
    ['a relative link (no public URL)', '/heals/heal-abc', false],
  ])('has %s in data only when it is absolute', (_, link, present) => {
    const e = healCloudEvent(record([{ kind: 'started' }]), 0, { source, link: () => link });
    expect('link' in e.data).toBe(present);
    if (present) expect(e.data.link).toBe(link);
  });

  it('refuses an index the record does not have', () => {
    expect(() => healCloudEvent(record([]), 0, { source })).toThrow(RangeError);
  });
});

describe('slackMessage', () => {
  it.each([
    [
      { kind: 'started', detail: 'drain started' },
      ':hammer_and_wrench: *prod-eu* kw-1 (pool blue): heal started (step 1/2 drain) · kernel-deadlock · drain started',
    ],
    [
      { kind: 'step-done', detail: 'drained' },
      ':ballot_box_with_check: *prod-eu* kw-1 (pool blue): step 1/2 drain done · kernel-deadlock · drained',
    ],
    [
      { kind: 'acting', step: 1, action: 'replace', detail: 'replace started' },
      ':gear: *prod-eu* kw-1 (pool blue): step 2/2 replace acting · kernel-deadlock · replace started',
    ],
    [
      { kind: 'held', detail: 'waits for safety gate paused' },
      ':double_vertical_bar: *prod-eu* kw-1 (pool blue): step 1/2 drain held by a safety gate · kernel-deadlock · waits for safety gate paused',
    ],
    [
      { kind: 'healed', to: 'healed', step: 1, action: 'replace', detail: 'capacity back' },
      ':white_check_mark: *prod-eu* kw-1 (pool blue): heal healed · kernel-deadlock · capacity back',
    ],
    [
      { kind: 'abandoned', to: 'abandoned', detail: 'drain timed out' },
      ':rotating_light: *prod-eu* kw-1 (pool blue): heal abandoned · kernel-deadlock · drain timed out',
    ],
    [
      { kind: 'skipped', to: 'skipped', detail: 'opted out' },
      ':fast_forward: *prod-eu* kw-1 (pool blue): heal skipped · kernel-deadlock · opted out',
    ],
    [
      { kind: 'escalated', detail: 'not cleared' },
      ':arrow_double_up: *prod-eu* kw-1 (pool blue): step 1/2 drain escalated · kernel-deadlock · not cleared',
    ],
  ] as [Partial<Transition>, string][])('%o reads as one line', (t, text) => {
    expect(slackMessage(healCloudEvent(record([t]), 0, { source }))).toEqual({ text });
  });

  it('escapes what Slack would read as markup, flattens newlines, links the status page', () => {
    const r = record([{ kind: 'cancelled', to: 'cancelled', detail: 'by <ops> & co\nsee > x' }]);
    const e = healCloudEvent(r, 0, { source, link: () => 'https://nh.example/heals/heal-abc' });
    const { text } = slackMessage(e);
    expect(text).toBe(
      ':no_entry_sign: *prod-eu* kw-1 (pool blue): heal cancelled · kernel-deadlock · ' +
        'by &lt;ops&gt; &amp; co see &gt; x <https://nh.example/heals/heal-abc|status>',
    );
    expect(text).not.toContain('\n');
  });

  it('says a dry-run heal is one', () => {
    const { text } = slackMessage(healCloudEvent(record([{}], true), 0, { source }));
    expect(text).toContain('[dry run]');
  });

  it('escapes &, < and > only', () => {
    expect(slackEscape('a<b>&c "d"')).toBe('a&lt;b&gt;&amp;c "d"');
  });
});
