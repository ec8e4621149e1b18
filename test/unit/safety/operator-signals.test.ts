// The operator's signals that hold heals: which Alertmanager silences hold which heal (matched as
// Alertmanager matches them), and which pools a blocker covers.
import { describe, expect, it } from 'vitest';
import {
  blockerCovers,
  blockersSchema,
  describeSilence,
  holdingSilence,
  silenceMatches,
  type Silence,
} from '../../../src/safety/index.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const heal = {
  node: 'worker-3',
  pool: 'general',
  fault: 'kernel-deadlock',
  alertLabels: { alertname: 'NodeKernelDeadlock', node: 'worker-3', severity: 'critical' },
};

function silence(matchers: Silence['matchers'], over: Partial<Silence> = {}): Silence {
  return {
    id: 's1',
    matchers,
    startsAt: '2026-12-01T11:00:00Z',
    endsAt: '2026-12-01T13:00:00Z',
    createdBy: 'oncall',
    comment: 'kernel upgrade',
    status: { state: 'active' },
    ...over,
  };
}
const eq = (name: string, value: string) => ({ name, value, isRegex: false, isEqual: true });

describe('silenceMatches', () => {
  it('needs every matcher to match; a missing label is the empty string', () => {
    expect(silenceMatches(silence([eq('alertname', 'NodeKernelDeadlock')]), heal.alertLabels)).toBe(
      true,
    );
    expect(
      silenceMatches(
        silence([eq('alertname', 'NodeKernelDeadlock'), eq('node', 'worker-4')]),
        heal.alertLabels,
      ),
    ).toBe(false);
    expect(silenceMatches(silence([eq('team', '')]), heal.alertLabels)).toBe(true);
    expect(silenceMatches(silence([]), heal.alertLabels)).toBe(false);
  });

  it('anchors regexes and honours negative matchers', () => {
    const regex = (value: string, isEqual = true) => ({
      name: 'node',
      value,
      isRegex: true,
      isEqual,
    });
    expect(silenceMatches(silence([regex('worker-.*')]), heal.alertLabels)).toBe(true);
    expect(silenceMatches(silence([regex('worker')]), heal.alertLabels)).toBe(false);
    expect(silenceMatches(silence([regex('worker-[0-2]', false)]), heal.alertLabels)).toBe(true);
    expect(
      silenceMatches(
        silence([{ ...eq('severity', 'critical'), isEqual: false }]),
        heal.alertLabels,
      ),
    ).toBe(false);
    // A regex Alertmanager would have refused matches nothing rather than throwing.
    expect(silenceMatches(silence([regex('(')]), heal.alertLabels)).toBe(false);
  });
});

describe('holdingSilence', () => {
  it('holds a heal whose fault alert is silenced', () => {
    const s = silence([eq('alertname', 'NodeKernelDeadlock'), eq('node', 'worker-3')]);
    expect(holdingSilence([s], heal, NOW)?.id).toBe('s1');
  });

  it('fills in the node for an alert that names it by instance only', () => {
    const s = silence([eq('alertname', 'NodeFilesystemAlmostOutOfSpace'), eq('node', 'worker-3')]);
    const byInstance = {
      ...heal,
      alertLabels: { alertname: 'NodeFilesystemAlmostOutOfSpace', instance: '10.0.0.3:9100' },
    };
    expect(holdingSilence([s], byInstance, NOW)?.id).toBe('s1');
  });

  it("holds on nodeheal's own label set: alertname=nodeheal with the node, pool or fault", () => {
    for (const m of [
      eq('node', 'worker-3'),
      eq('pool', 'general'),
      eq('fault', 'kernel-deadlock'),
    ]) {
      expect(holdingSilence([silence([eq('alertname', 'nodeheal'), m])], heal, NOW)?.id).toBe('s1');
    }
    expect(
      holdingSilence([silence([eq('alertname', 'nodeheal'), eq('node', 'worker-9')])], heal, NOW),
    ).toBeUndefined();
  });

  it('ignores silences that are expired, pending, or not yet started or already ended', () => {
    const m = [eq('node', 'worker-3')];
    expect(
      holdingSilence([silence(m, { status: { state: 'expired' } })], heal, NOW),
    ).toBeUndefined();
    expect(
      holdingSilence([silence(m, { status: { state: 'pending' } })], heal, NOW),
    ).toBeUndefined();
    expect(
      holdingSilence([silence(m, { endsAt: '2026-12-01T12:00:00Z' })], heal, NOW),
    ).toBeUndefined();
    expect(
      holdingSilence([silence(m, { startsAt: '2026-12-01T12:00:01Z' })], heal, NOW),
    ).toBeUndefined();
  });

  it('answers the silence that ends last: the heal waits for it', () => {
    const m = [eq('node', 'worker-3')];
    const early = silence(m, { id: 'early', endsAt: '2026-12-01T12:30:00Z' });
    const late = silence(m, { id: 'late', endsAt: '2026-12-01T18:00:00Z' });
    expect(holdingSilence([early, late], heal, NOW)?.id).toBe('late');
  });

  it('describes the silence for the status page', () => {
    const s = silence([
      eq('alertname', 'nodeheal'),
      { name: 'node', value: 'w.*', isRegex: true, isEqual: false },
    ]);
    expect(describeSilence(s)).toBe(
      'silence s1 by oncall {alertname="nodeheal", node!=~"w.*"} until 2026-12-01T13:00:00Z: kernel upgrade',
    );
  });
});

describe('blockers', () => {
  it('cover the pools they list, or every pool', () => {
    const [some, all] = blockersSchema.parse([
      { name: 'ceph', query: 'ALERTS{alertname="CephHealthWarning"}', pools: ['storage'] },
      { name: 'change-freeze', query: 'freeze == 1' },
    ]);
    expect(blockerCovers(some!, 'storage')).toBe(true);
    expect(blockerCovers(some!, 'general')).toBe(false);
    expect(blockerCovers(all!, 'general')).toBe(true);
  });

  it('refuse a blocker without a query or with a name that cannot be shown', () => {
    expect(blockersSchema.safeParse([{ name: 'ceph', query: '' }]).success).toBe(false);
    expect(blockersSchema.safeParse([{ name: 'a b', query: 'up' }]).success).toBe(false);
    expect(blockersSchema.safeParse([{ name: 'x', query: 'up', pools: [] }]).success).toBe(false);
  });
});
