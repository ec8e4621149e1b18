import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alertmanagerPayloadSchema,
  fastAlertmanagerPayloadSchema,
  formatPath,
  parseAlertmanagerPayload,
  parseRfc3339,
} from '../../../src/sources/alertmanager/payload.ts';

type Json = Record<string, unknown>;

/** The smallest payload the current Alertmanager can send: one firing alert. */
function minimal(): Json {
  return {
    version: '4',
    groupKey: '{}:{alertname="KubeletDown"}',
    status: 'firing',
    receiver: 'nodeheal',
    groupLabels: { alertname: 'KubeletDown' },
    commonLabels: { alertname: 'KubeletDown', node: 'worker-1' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'KubeletDown', node: 'worker-1' },
        annotations: {},
        startsAt: '2024-05-01T10:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
      },
    ],
  };
}

/** A payload from a current Alertmanager, with every newer field. */
function everyField(): Json {
  const p = minimal();
  return {
    ...p,
    truncatedAlerts: 2,
    notification_reason: 'new_alerts_in_group',
    routeLabels: { team: 'platform' },
    alerts: [
      {
        status: 'resolved',
        labels: { alertname: 'KubeletDown', node: 'worker-1' },
        annotations: { summary: 'kubelet is down' },
        startsAt: '2024-05-01T10:00:00.123456789+02:00',
        endsAt: '2024-05-01T10:05:00.5Z',
        generatorURL: '',
        fingerprint: '0123456789abcdef',
      },
    ],
  };
}

/**
 * What Alertmanager 0.15 sent: no fingerprint, no truncatedAlerts, no notification_reason or
 * routeLabels, a nested-route group key, fractional seconds with a zone offset.
 */
function oldShape(): Json {
  const alert = (node: string) => ({
    status: 'firing',
    labels: { alertname: 'NodeFilesystemFull', instance: `${node}:9100`, severity: 'critical' },
    annotations: { description: 'root filesystem is full' },
    startsAt: '2018-06-01T10:00:00.123+01:00',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=node_filesystem_avail_bytes',
  });
  return {
    receiver: 'nodeheal',
    status: 'firing',
    alerts: [alert('10.0.0.5'), alert('10.0.0.6')],
    groupLabels: { alertname: 'NodeFilesystemFull' },
    commonLabels: { alertname: 'NodeFilesystemFull', severity: 'critical' },
    commonAnnotations: { description: 'root filesystem is full' },
    externalURL: 'http://alertmanager-0:9093',
    version: '4',
    groupKey: '{}/{severity="critical"}:{alertname="NodeFilesystemFull"}',
  };
}

/** Returns a deep copy of the minimal payload with `mutate` applied. */
function withChange(mutate: (p: Json & { alerts: Json[] }) => void): Json {
  const p = structuredClone(minimal()) as Json & { alerts: Json[] };
  p.alerts.push(structuredClone(p.alerts[0]) as Json, structuredClone(p.alerts[0]) as Json);
  mutate(p);
  return p;
}

describe('parseAlertmanagerPayload: accepted', () => {
  it.each([
    ['minimal', minimal()],
    ['every new field', everyField()],
    ['old shape (no fingerprint, no truncatedAlerts)', oldShape()],
    [
      'unknown extra fields, top level and per alert',
      withChange((p) => {
        p.futureField = { nested: [1, 2] };
        (p.alerts[0] as Json).somethingNew = 42;
      }),
    ],
    ['no alerts at all', withChange((p) => (p.alerts = []))],
    ['truncatedAlerts 0', withChange((p) => (p.truncatedAlerts = 0))],
  ])('%s', (_name, body) => {
    const result = parseAlertmanagerPayload(body);
    expect(result).toMatchObject({ ok: true });
  });

  it('keeps every field, including new and unknown ones', () => {
    const body = { ...everyField(), futureField: 'x' };
    const result = parseAlertmanagerPayload(body);
    if (!result.ok) throw new Error(result.error);
    expect(result.payload).toEqual(body);
    expect(result.payload.truncatedAlerts).toBe(2);
    expect(result.payload.notification_reason).toBe('new_alerts_in_group');
    expect(result.payload.routeLabels).toEqual({ team: 'platform' });
    expect(result.payload.alerts[0]?.fingerprint).toBe('0123456789abcdef');
  });

  it('leaves optional fields undefined on an old payload', () => {
    const result = parseAlertmanagerPayload(oldShape());
    if (!result.ok) throw new Error(result.error);
    expect(result.payload.truncatedAlerts).toBeUndefined();
    expect(result.payload.routeLabels).toBeUndefined();
    expect(result.payload.alerts[0]?.fingerprint).toBeUndefined();
  });
});

describe('parseAlertmanagerPayload: rejected', () => {
  it.each<[string, unknown, string]>([
    ['body is null', null, 'body: expected a JSON object, got null'],
    ['body is an array', [], 'body: expected a JSON object, got array'],
    ['body is a string', 'hello', 'body: expected a JSON object, got string'],
    [
      'version "3"',
      withChange((p) => (p.version = '3')),
      'version: unsupported version "3"; only Alertmanager webhook version "4" is supported',
    ],
    [
      'version as number 4',
      withChange((p) => (p.version = 4)),
      'version: unsupported version 4; only Alertmanager webhook version "4" is supported',
    ],
    [
      'version missing',
      withChange((p) => delete p.version),
      'version: unsupported version (missing); only Alertmanager webhook version "4" is supported',
    ],
    [
      'groupKey number',
      withChange((p) => (p.groupKey = 1)),
      'groupKey: expected a string, got number',
    ],
    ['groupKey missing', withChange((p) => delete p.groupKey), 'groupKey: required (a string)'],
    [
      'truncatedAlerts string',
      withChange((p) => (p.truncatedAlerts = '2')),
      'truncatedAlerts: expected a non-negative integer, got string',
    ],
    [
      'truncatedAlerts negative',
      withChange((p) => (p.truncatedAlerts = -1)),
      'truncatedAlerts: expected a non-negative integer',
    ],
    [
      'truncatedAlerts fractional',
      withChange((p) => (p.truncatedAlerts = 1.5)),
      'truncatedAlerts: expected a non-negative integer',
    ],
    [
      'status unknown',
      withChange((p) => (p.status = 'pending')),
      'status: expected "firing" or "resolved", got "pending"',
    ],
    [
      'status missing',
      withChange((p) => delete p.status),
      'status: required ("firing" or "resolved")',
    ],
    [
      'receiver null',
      withChange((p) => (p.receiver = null)),
      'receiver: expected a string, got null',
    ],
    [
      'groupLabels array',
      withChange((p) => (p.groupLabels = [])),
      'groupLabels: expected an object of string values, got array',
    ],
    [
      'commonLabels with a number value',
      withChange((p) => (p.commonLabels = { severity: 3 })),
      'commonLabels.severity: expected a string value, got number',
    ],
    [
      'commonAnnotations string',
      withChange((p) => (p.commonAnnotations = 'x')),
      'commonAnnotations: expected an object of string values, got string',
    ],
    [
      'externalURL missing',
      withChange((p) => delete p.externalURL),
      'externalURL: required (a string)',
    ],
    [
      'notification_reason number',
      withChange((p) => (p.notification_reason = 1)),
      'notification_reason: expected a string, got number',
    ],
    [
      'routeLabels with a boolean value',
      withChange((p) => (p.routeLabels = { team: true })),
      'routeLabels.team: expected a string value, got boolean',
    ],
    [
      'alerts missing',
      withChange((p) => delete (p as Json).alerts),
      'alerts: required (an array of alerts)',
    ],
    [
      'alerts object',
      withChange((p) => ((p as Json).alerts = {})),
      'alerts: expected an array of alerts, got object',
    ],
    [
      'alerts[1] not an object',
      withChange((p) => (p.alerts[1] = 'x' as unknown as Json)),
      'alerts[1]: expected an alert object, got string',
    ],
    [
      'alerts[2].status unknown',
      withChange((p) => (p.alerts[2]!.status = 'silenced')),
      'alerts[2].status: expected "firing" or "resolved", got "silenced"',
    ],
    [
      'alerts[2].labels with a number value',
      withChange((p) => (p.alerts[2]!.labels = { alertname: 'X', cpu: 3 })),
      'alerts[2].labels.cpu: expected a string value, got number',
    ],
    [
      'alerts[0].labels key needing quotes',
      withChange((p) => (p.alerts[0]!.labels = { 'a.b': null })),
      'alerts[0].labels["a.b"]: expected a string value, got null',
    ],
    [
      'alerts[1].annotations missing',
      withChange((p) => delete p.alerts[1]!.annotations),
      'alerts[1].annotations: required (an object of string values)',
    ],
    [
      'alerts[2].startsAt not a timestamp',
      withChange((p) => (p.alerts[2]!.startsAt = 'yesterday')),
      'alerts[2].startsAt: expected an RFC3339 timestamp',
    ],
    [
      'alerts[2].startsAt without zone',
      withChange((p) => (p.alerts[2]!.startsAt = '2024-05-01T10:00:00')),
      'alerts[2].startsAt: expected an RFC3339 timestamp',
    ],
    [
      'alerts[0].startsAt impossible date',
      withChange((p) => (p.alerts[0]!.startsAt = '2024-02-30T10:00:00Z')),
      'alerts[0].startsAt: expected an RFC3339 timestamp',
    ],
    [
      'alerts[0].startsAt epoch number',
      withChange((p) => (p.alerts[0]!.startsAt = 1714557600)),
      'alerts[0].startsAt: expected an RFC3339 timestamp, got number',
    ],
    [
      'alerts[1].endsAt missing',
      withChange((p) => delete p.alerts[1]!.endsAt),
      'alerts[1].endsAt: required (an RFC3339 timestamp)',
    ],
    [
      'alerts[0].generatorURL number',
      withChange((p) => (p.alerts[0]!.generatorURL = 5)),
      'alerts[0].generatorURL: expected a string, got number',
    ],
    [
      'alerts[0].fingerprint number',
      withChange((p) => (p.alerts[0]!.fingerprint = 123)),
      'alerts[0].fingerprint: expected a string, got number',
    ],
  ])('%s', (_name, body, error) => {
    expect(parseAlertmanagerPayload(body)).toEqual({ ok: false, error });
  });

  it('reports only the version when the version is wrong, whatever else differs', () => {
    const result = parseAlertmanagerPayload({ version: '3', alerts: 'nope' });
    expect(result).toEqual({
      ok: false,
      error: 'version: unsupported version "3"; only Alertmanager webhook version "4" is supported',
    });
  });

  it('lists several issues, then summarises the rest', () => {
    const result = parseAlertmanagerPayload({ version: '4' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBe(
      'groupKey: required (a string); status: required ("firing" or "resolved"); ' +
        'receiver: required (a string); groupLabels: required (an object of string values); ' +
        'commonLabels: required (an object of string values) (and 3 more)',
    );
  });
});

describe('the fast pass: never accepts what the detailed schema rejects, same result', () => {
  const kvFields = ['groupLabels', 'commonLabels', 'commonAnnotations', 'routeLabels'] as const;
  const alertKvFields = ['labels', 'annotations'] as const;
  // Label maps of every shape: strings, other JSON values, nested, arrays, null, odd keys.
  const kvLike = fc.oneof(
    fc.dictionary(fc.string(), fc.string()),
    fc.dictionary(fc.string(), fc.jsonValue()),
    fc.jsonValue(),
    fc.constant(Object.create(null)),
    fc.constant({ ['__proto__']: 'x' }),
    fc.constant(JSON.parse('{"__proto__": "x", "a": "b"}') as unknown),
    fc.constant(JSON.parse('{"__proto__": {"a": 1}}') as unknown),
    fc.constant(new Map([['a', 'b']]) as unknown),
    fc.constant(new Date() as unknown),
  );

  function agree(body: unknown): void {
    const fast = fastAlertmanagerPayloadSchema.safeParse(body);
    const detailed = alertmanagerPayloadSchema.safeParse(body);
    if (fast.success) {
      expect(detailed.success).toBe(true);
      expect(fast.data).toEqual(detailed.data);
    }
    const parsed = parseAlertmanagerPayload(body);
    expect(parsed.ok).toBe(detailed.success);
    if (parsed.ok && detailed.success) expect(parsed.payload).toEqual(detailed.data);
  }

  it('on random label maps anywhere in the payload', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kvFields),
        fc.constantFrom(...alertKvFields),
        kvLike,
        kvLike,
        fc.boolean(),
        (field, alertField, top, inAlert, both) => {
          const body = everyField() as Json & { alerts: Json[] };
          body[field] = top;
          if (both) (body.alerts[0] as Json)[alertField] = inAlert;
          agree(body);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('on whole random values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        agree(body);
      }),
    );
  });
});

describe('parseRfc3339', () => {
  it.each<[string, string | undefined]>([
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T10:00:00.123456789Z', '2024-05-01T10:00:00.123Z'],
    ['2024-05-01T10:00:00.5Z', '2024-05-01T10:00:00.500Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T05:30:00-04:30', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01t10:00:00z', '2024-05-01T10:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['2023-02-29T00:00:00Z', undefined],
    ['2024-04-31T00:00:00Z', undefined],
    ['2024-13-01T00:00:00Z', undefined],
    ['2024-05-01T24:00:00Z', undefined],
    ['2024-05-01T10:00:60Z', undefined],
    ['2024-05-01T10:00:00+24:00', undefined],
    ['2024-05-01 10:00:00Z', undefined],
    ['2024-05-01T10:00:00', undefined],
    ['2024-05-01', undefined],
    ['', undefined],
  ])('%s', (input, iso) => {
    expect(parseRfc3339(input)?.toISOString()).toBe(iso);
    // Parsed results are remembered: the second answer is the same, in a Date of its own.
    const again = parseRfc3339(input);
    expect(again?.toISOString()).toBe(iso);
    if (again) again.setTime(0);
    expect(parseRfc3339(input)?.toISOString()).toBe(iso);
  });

  it('rejects strings longer than any timestamp without parsing them', () => {
    expect(parseRfc3339(`2024-05-01T10:00:00.123456789+02:00${' '.repeat(1000)}`)).toBeUndefined();
  });
});

describe('formatPath', () => {
  it.each<[PropertyKey[], string]>([
    [[], 'body'],
    [['alerts', 2, 'startsAt'], 'alerts[2].startsAt'],
    [['alerts', 0, 'labels', 'a.b'], 'alerts[0].labels["a.b"]'],
    [['routeLabels', 'team'], 'routeLabels.team'],
  ])('%j', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
