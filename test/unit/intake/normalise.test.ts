import { describe, expect, it } from 'vitest';
import { isDns1123Subdomain, type ReceivedAlert } from '../../../src/triage/index.ts';
import { parseAlertmanagerPayload } from '../../../src/sources/alertmanager/payload.ts';
import { receivedAlerts } from '../../../src/sources/alertmanager/index.ts';
import { buildNodeIndex } from '../../../src/kube/node-index.ts';
import { instanceHost, labelsFingerprint, normaliseAlerts } from '../../../src/intake/normalise.ts';

const index = buildNodeIndex([
  {
    metadata: { name: 'worker-1' },
    status: {
      addresses: [
        { type: 'InternalIP', address: '10.0.0.5' },
        { type: 'Hostname', address: 'worker-1.cluster.internal' },
      ],
    },
  },
  {
    metadata: { name: 'worker-2' },
    status: {
      addresses: [
        { type: 'InternalIP', address: 'fd00::2' },
        { type: 'InternalDNS', address: 'host.example' },
      ],
    },
  },
]);

interface AlertInput {
  status?: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint?: string;
}

/** A payload validated by the real schema, so normalisation sees what the route would give it. */
/** The alerts of a validated Alertmanager payload, as the source hands them to the intake. */
function delivered(...alerts: AlertInput[]): ReceivedAlert[] {
  const result = parseAlertmanagerPayload({
    version: '4',
    groupKey: '{}:{}',
    status: 'firing',
    receiver: 'nodeheal',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: alerts.map((a) => ({
      status: 'firing',
      annotations: {},
      startsAt: '2024-05-01T10:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      ...a,
    })),
  });
  if (!result.ok) throw new Error(result.error);
  return receivedAlerts(result.payload);
}

function nodeOf(labels: Record<string, string>) {
  const { alerts, ignored } = normaliseAlerts(delivered({ labels }), index);
  return alerts[0]?.node ?? ignored[0]?.reason;
}

describe('normaliseAlerts: node resolution', () => {
  it.each<[string, Record<string, string>, string]>([
    ['node label', { node: 'worker-7' }, 'worker-7'],
    ['kubernetes_node label', { kubernetes_node: 'worker-7' }, 'worker-7'],
    ['nodename label', { nodename: 'worker-7' }, 'worker-7'],
    [
      'nodename that is a known Hostname maps to the Node',
      { nodename: 'worker-1.cluster.internal' },
      'worker-1',
    ],
    ['node label that is a known IP maps to the Node', { node: '10.0.0.5' }, 'worker-1'],
    ['node beats kubernetes_node', { kubernetes_node: 'b', node: 'a' }, 'a'],
    ['kubernetes_node beats nodename', { nodename: 'c', kubernetes_node: 'b' }, 'b'],
    ['nodename beats instance', { instance: '10.0.0.5:9100', nodename: 'c' }, 'c'],
    ['empty node label falls through', { node: '', kubernetes_node: 'b' }, 'b'],
    ['instance IPv4 with port', { instance: '10.0.0.5:9100' }, 'worker-1'],
    ['instance IPv4 without port', { instance: '10.0.0.5' }, 'worker-1'],
    ['instance IPv6 with port', { instance: '[fd00::2]:9100' }, 'worker-2'],
    ['instance IPv6 bare', { instance: 'fd00::2' }, 'worker-2'],
    ['instance hostname with port', { instance: 'host.example:9100' }, 'worker-2'],
    ['instance node name with port', { instance: 'worker-1:10250' }, 'worker-1'],
    ['instance URL', { instance: 'https://worker-1.cluster.internal:8443/healthz' }, 'worker-1'],
    ['instance unknown IP', { instance: '10.9.9.9:9100' }, 'no_node'],
    [
      'instance that looks like a node name but is unknown',
      { instance: 'worker-9:9100' },
      'no_node',
    ],
    ['instance with a non-numeric port', { instance: '10.0.0.5:http' }, 'no_node'],
    ['instance empty', { instance: '' }, 'no_node'],
    ['no node labels at all', { job: 'node-exporter' }, 'no_node'],
    ['upper case node name', { node: 'Worker-1' }, 'invalid_node'],
    ['underscore', { node: 'worker_1' }, 'invalid_node'],
    ['leading hyphen', { kubernetes_node: '-worker' }, 'invalid_node'],
    ['trailing dot', { nodename: 'worker-1.' }, 'invalid_node'],
    ['shell metacharacters', { node: 'w1; rm -rf /' }, 'invalid_node'],
    ['path traversal', { node: '../etc' }, 'invalid_node'],
    ['254 characters', { node: `${'a'.repeat(63)}.`.repeat(4).slice(0, 254) }, 'invalid_node'],
    ['64-character label', { node: 'a'.repeat(64) }, 'invalid_node'],
    [
      'invalid node label is not rescued by instance',
      { node: 'BAD', instance: '10.0.0.5:9100' },
      'invalid_node',
    ],
  ])('%s', (_name, labels, expected) => {
    expect(nodeOf({ alertname: 'X', ...labels })).toBe(expected);
  });

  it('describes why an alert was ignored, without echoing raw control characters', () => {
    const result = normaliseAlerts(
      delivered(
        { labels: { alertname: 'DiskFull', node: 'bad\nname' } },
        { labels: { alertname: 'KubeletDown', instance: 'worker-9:9100' } },
        { labels: { job: 'x' } },
      ),
      index,
    );
    expect(result.alerts).toEqual([]);
    expect(result.ignored).toEqual([
      {
        alertname: 'DiskFull',
        reason: 'invalid_node',
        detail: 'label node="bad\\nname" is not a valid Kubernetes node name',
      },
      {
        alertname: 'KubeletDown',
        reason: 'no_node',
        detail: 'label instance="worker-9:9100" matches no known node',
      },
      {
        alertname: '',
        reason: 'no_node',
        detail: 'no node/kubernetes_node/nodename/instance label',
      },
    ]);
  });
});

describe('normaliseAlerts: fields', () => {
  it('maps a firing alert, zero endsAt becoming undefined', () => {
    const { alerts, ignored } = normaliseAlerts(
      delivered({
        labels: { alertname: 'KubeletDown', node: 'worker-1', severity: 'critical' },
        annotations: { summary: 'down' },
        startsAt: '2024-05-01T12:00:00.123456789+02:00',
        fingerprint: 'abcdef0123456789',
      }),
      index,
    );
    expect(ignored).toEqual([]);
    expect(alerts).toEqual([
      {
        node: 'worker-1',
        alertname: 'KubeletDown',
        status: 'firing',
        labels: { alertname: 'KubeletDown', node: 'worker-1', severity: 'critical' },
        annotations: { summary: 'down' },
        startsAt: new Date('2024-05-01T10:00:00.123Z'),
        fingerprint: 'abcdef0123456789',
        generatorURL: 'http://prometheus:9090/graph',
        // The payload's externalURL: the Alertmanager that sent it.
        sourceURL: 'http://alertmanager:9093',
      },
    ]);
    expect(alerts[0]).not.toHaveProperty('endsAt');
  });

  it('maps a resolved alert with its endsAt, and each alert keeps its own status', () => {
    const { alerts } = normaliseAlerts(
      delivered(
        {
          status: 'resolved',
          labels: { alertname: 'A', node: 'worker-1' },
          endsAt: '2024-05-01T10:05:00Z',
          generatorURL: '',
        },
        { labels: { alertname: 'B', node: 'worker-1' } },
      ),
      index,
    );
    expect(alerts.map((a) => [a.alertname, a.status, a.endsAt?.toISOString()])).toEqual([
      ['A', 'resolved', '2024-05-01T10:05:00.000Z'],
      ['B', 'firing', undefined],
    ]);
    expect(alerts[0]?.generatorURL).toBeUndefined();
  });

  it.each<[string, string | undefined, string]>([
    ['Alertmanager fingerprint kept', '0123456789abcdef', '0123456789abcdef'],
    [
      'missing fingerprint hashed',
      undefined,
      labelsFingerprint({ alertname: 'A', node: 'worker-1' }),
    ],
    ['empty fingerprint hashed', '', labelsFingerprint({ alertname: 'A', node: 'worker-1' })],
  ])('%s', (_name, fingerprint, expected) => {
    const input: AlertInput = { labels: { alertname: 'A', node: 'worker-1' } };
    if (fingerprint !== undefined) input.fingerprint = fingerprint;
    expect(normaliseAlerts(delivered(input), index).alerts[0]?.fingerprint).toBe(expected);
  });

  it('copies labels so the payload and the NodeAlert do not share objects', () => {
    const p = delivered({ labels: { alertname: 'A', node: 'worker-1' } });
    const [alert] = normaliseAlerts(p, index).alerts;
    expect(alert?.labels).toEqual(p[0]?.labels);
    expect(alert?.labels).not.toBe(p[0]?.labels);
  });
});

describe('labelsFingerprint', () => {
  it('is 16 hex characters, stable and independent of label order', () => {
    const a = labelsFingerprint({ alertname: 'A', node: 'worker-1' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(labelsFingerprint({ node: 'worker-1', alertname: 'A' })).toBe(a);
    // sha256 of [["alertname","A"],["node","worker-1"]]
    expect(a).toBe('56de343fa2728df7');
  });

  it.each([
    [{ alertname: 'A', node: 'worker-2' }],
    [{ alertname: 'A' }],
    [{ alertname: 'A', node: 'worker-1', extra: '' }],
    // Naive "k=v," joining would collide on these two.
    [{ alertname: 'A,node=worker-1' }],
  ])('differs for a different label set: %j', (labels) => {
    expect(labelsFingerprint(labels)).not.toBe(
      labelsFingerprint({ alertname: 'A', node: 'worker-1' }),
    );
  });
});

describe('instanceHost', () => {
  it.each<[string, string | undefined]>([
    ['10.0.0.5:9100', '10.0.0.5'],
    ['10.0.0.5', '10.0.0.5'],
    ['[fd00::1]:9100', 'fd00::1'],
    ['[fd00::1]', 'fd00::1'],
    ['fd00::1', 'fd00::1'],
    ['host.example:9100', 'host.example'],
    ['host.example', 'host.example'],
    ['http://host.example:8080/metrics', 'host.example'],
    ['https://user@[fd00::1]:443/', 'fd00::1'],
    ['host.example:http', 'host.example:http'],
    ['[fd00::1', undefined],
    ['', undefined],
  ])('%s -> %s', (instance, host) => {
    expect(instanceHost(instance)).toBe(host);
  });
});

describe('isDns1123Subdomain', () => {
  it.each<[string, boolean]>([
    ['worker-1', true],
    ['ip-10-0-0-5.ec2.internal', true],
    ['10.0.0.5', true],
    ['a', true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['Worker', false],
    ['worker-', false],
    ['-worker', false],
    ['a..b', false],
    ['.a', false],
    ['a_b', false],
    ['a b', false],
    ['fd00::1', false],
  ])('%s -> %s', (value, valid) => {
    expect(isDns1123Subdomain(value)).toBe(valid);
  });
});
