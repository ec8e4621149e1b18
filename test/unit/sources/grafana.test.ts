// Grafana Alerting's webhook payload: the documented example is accepted and normalised like
// Alertmanager's; anything else is refused with an error that names the field.
import { describe, expect, it } from 'vitest';
import { alertmanagerSource, grafanaSource, sourceNamed } from '../../../src/sources/index.ts';

/** Grafana's documented example, with the labels of a node alert. */
function documented(overrides: Record<string, unknown> = {}, alert: Record<string, unknown> = {}) {
  return {
    receiver: 'My Super Webhook',
    status: 'firing',
    orgId: 1,
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'NodeNotReady', node: 'worker-1', team: 'blue' },
        annotations: {
          description: 'The node is not ready',
          runbook_url: 'https://myrunbook.com/runbook/1234',
          summary: 'This alert was triggered for worker-1',
        },
        startsAt: '2021-10-12T09:51:03.157076+02:00',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'https://play.grafana.org/alerting/1afz29v7z/edit',
        fingerprint: 'c6eadffa33fcdf37',
        silenceURL:
          'https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1',
        dashboardURL: '',
        panelURL: '',
        values: { B: 44.23943737541908, C: 1 },
        ...alert,
      },
    ],
    groupLabels: {},
    commonLabels: { team: 'blue' },
    commonAnnotations: {},
    externalURL: 'https://play.grafana.org/',
    version: '1',
    groupKey: '{}:{}',
    truncatedAlerts: 0,
    title: '[FIRING:1]  (blue)',
    state: 'alerting',
    message: '**Firing**\n\nLabels:\n - alertname = NodeNotReady\n',
    ...overrides,
  };
}

describe('grafana source', () => {
  it('is mounted at POST /webhook/grafana and found by name', () => {
    expect(grafanaSource.path).toBe('/webhook/grafana');
    expect(sourceNamed('grafana')).toBe(grafanaSource);
    expect(sourceNamed('alertmanager')).toBe(alertmanagerSource);
    expect(sourceNamed('pagerduty')).toBeUndefined();
  });

  it('accepts the documented firing payload and normalises its alert', () => {
    const parsed = grafanaSource.parse(documented());
    expect(parsed).toEqual({
      ok: true,
      batch: {
        source: 'grafana',
        groupKey: '{}:{}',
        receiver: 'My Super Webhook',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'NodeNotReady', node: 'worker-1', team: 'blue' },
            annotations: {
              description: 'The node is not ready',
              runbook_url: 'https://myrunbook.com/runbook/1234',
              summary: 'This alert was triggered for worker-1',
            },
            startsAt: new Date('2021-10-12T07:51:03.157Z'),
            fingerprint: 'c6eadffa33fcdf37',
            generatorURL: 'https://play.grafana.org/alerting/1afz29v7z/edit',
            sourceURL: 'https://play.grafana.org/',
          },
        ],
      },
    });
  });

  it('accepts the resolved case: endsAt set, state ok', () => {
    const parsed = grafanaSource.parse(
      documented(
        { status: 'resolved', state: 'ok', title: '[RESOLVED]  (blue)' },
        { status: 'resolved', endsAt: '2021-10-12T10:01:03.157076+02:00', values: null },
      ),
    );
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.batch.alerts[0]).toMatchObject({
      status: 'resolved',
      endsAt: new Date('2021-10-12T08:01:03.157Z'),
    });
  });

  it('tolerates fields it does not know (a newer Grafana)', () => {
    const parsed = grafanaSource.parse(
      documented({ ruleUID: 'abc' }, { imageURL: 'https://img', orgId: 1, extra: true }),
    );
    expect(parsed.ok).toBe(true);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    [
      "Alertmanager's version",
      { version: '4' },
      {},
      /^version: unsupported version "4".*POST \/webhook\/alertmanager/,
    ],
    ['no version', { version: undefined }, {}, /^version: unsupported version \(missing\)/],
    ['no orgId', { orgId: undefined }, {}, /^orgId: required/],
    ['a text orgId', { orgId: 'one' }, {}, /^orgId: expected an organisation id, got string/],
    [
      'a bad timestamp',
      {},
      { startsAt: 'yesterday' },
      /^alerts\[0\]\.startsAt: expected an RFC3339/,
    ],
    ['a text value', {}, { values: { B: 'high' } }, /^alerts\[0\]\.values\.B: expected a number/],
    [
      'a numeric label',
      {},
      { labels: { node: 1 } },
      /^alerts\[0\]\.labels\.node: expected a string/,
    ],
    ['a status of its own', {}, { status: 'pending' }, /^alerts\[0\]\.status: expected "firing"/],
  ])('refuses %s with an error naming the field', (_name, overrides, alert, error) => {
    const parsed = grafanaSource.parse(documented(overrides, alert));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });

  it('refuses a body that is not an object', () => {
    expect(grafanaSource.parse([])).toEqual({
      ok: false,
      error: 'body: expected a JSON object, got array',
    });
  });

  it('an Alertmanager payload is not a Grafana one, and the other way round', () => {
    const grafana = documented();
    expect(alertmanagerSource.parse(grafana).ok).toBe(false);
    expect(grafanaSource.parse({ ...grafana, version: '4' }).ok).toBe(false);
  });
});
