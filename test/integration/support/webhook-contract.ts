// The webhook v4 contract as the fuzz tests judge answers by it: which statuses a request may get
// (a model of the contract, written out from Alertmanager's webhook.Message and template.Alert,
// independently of the parser under test), and which fields a 400 must name.
import type { FuzzCase } from './webhook-fuzz-inputs.ts';

export type Verdict =
  | { kind: 'valid' }
  /** `broken`: the names of the offending fields (one of them must appear in the 400). */
  | { kind: 'invalid'; broken: string[] }
  /** Corners the contract does not settle (see `kvProblems`, `truncatedProblems`). */
  | { kind: 'either' };

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 3339 as Go writes it: date, `T`, time, optional 1-9 fraction digits, `Z` or an offset. */
const RFC3339_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Labels and annotations: an object of strings. `__proto__` with a non-string is unsettled. */
function kvProblems(v: unknown): 'ok' | 'bad' | 'either' {
  if (!isPlainObject(v)) return 'bad';
  let verdict: 'ok' | 'either' = 'ok';
  for (const [k, value] of Object.entries(v)) {
    if (typeof value === 'string') continue;
    if (k === '__proto__') verdict = 'either';
    else return 'bad';
  }
  return verdict;
}

/** A non-negative integer; integers beyond 2^53 are unsettled (not exactly representable). */
function truncatedProblems(v: unknown): 'ok' | 'bad' | 'either' {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return 'bad';
  return Number.isSafeInteger(v) ? 'ok' : 'either';
}

export function contractVerdict(body: unknown): Verdict {
  if (!isPlainObject(body)) return { kind: 'invalid', broken: ['body'] };
  // The version decides first: anything but the string "4" is unsupported, whatever else.
  if (body.version !== '4') return { kind: 'invalid', broken: ['version'] };
  const broken: string[] = [];
  let unsettled = false;
  const check = (field: string, outcome: 'ok' | 'bad' | 'either') => {
    if (outcome === 'bad') broken.push(field);
    if (outcome === 'either') unsettled = true;
  };
  const isString = (v: unknown) => (typeof v === 'string' ? 'ok' : 'bad');
  const isStatus = (v: unknown) => (v === 'firing' || v === 'resolved' ? 'ok' : 'bad');
  const isTimestamp = (v: unknown) =>
    typeof v === 'string' && RFC3339_TEXT.test(v) && !Number.isNaN(Date.parse(v)) ? 'ok' : 'bad';
  const optional = (v: unknown, rule: (v: unknown) => 'ok' | 'bad' | 'either') =>
    v === undefined ? 'ok' : rule(v);

  check('groupKey', isString(body.groupKey));
  check('truncatedAlerts', optional(body.truncatedAlerts, truncatedProblems));
  check('status', isStatus(body.status));
  check('receiver', isString(body.receiver));
  check('groupLabels', kvProblems(body.groupLabels));
  check('commonLabels', kvProblems(body.commonLabels));
  check('commonAnnotations', kvProblems(body.commonAnnotations));
  check('externalURL', isString(body.externalURL));
  check('notification_reason', optional(body.notification_reason, isString));
  check('routeLabels', optional(body.routeLabels, kvProblems));
  if (!Array.isArray(body.alerts)) broken.push('alerts');
  else {
    for (const alert of body.alerts as unknown[]) {
      if (!isPlainObject(alert)) {
        broken.push('alerts');
        continue;
      }
      check('status', isStatus(alert.status));
      check('labels', kvProblems(alert.labels));
      check('annotations', kvProblems(alert.annotations));
      check('startsAt', isTimestamp(alert.startsAt));
      check('endsAt', isTimestamp(alert.endsAt));
      check('generatorURL', isString(alert.generatorURL));
      check('fingerprint', optional(alert.fingerprint, isString));
    }
  }
  // Fields the contract does not name are tolerated (a newer Alertmanager adds some).
  if (broken.length > 0) return { kind: 'invalid', broken };
  return unsettled ? { kind: 'either' } : { kind: 'valid' };
}

/** The statuses the contract allows; exactly one when the request is unambiguous. */
export function allowed(c: FuzzCase, bytes: Buffer, limit: number): number[] {
  if (!c.auth.valid) return [401];
  // Beyond what Alertmanager ever sends: a charset that is not UTF-n, or a Content-Encoding the
  // server does not implement, is refused as malformed (400) before the body is read.
  if (c.contentType.charset === 'other') return [400, 413];
  if (c.encoding === 'unknown') return [400];
  if (c.encoding === 'gzip-garbage') return [400];
  if (bytes.length > limit) return [413];
  if (c.body.kind === 'raw') return [400];
  // Text within the limit: the body parser sees JSON.parse of its UTF-8 decoding (a byte that is
  // not UTF-8 reads as U+FFFD, as it does for the server).
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return [400];
  }
  const strictOk = parsed !== null && typeof parsed === 'object';
  if (!strictOk) return [400];
  const verdict = contractVerdict(parsed);
  if (verdict.kind === 'either') return [200, 400];
  return verdict.kind === 'valid' ? [200] : [400];
}

/** Authenticated, decodable and within the limit: the body itself is what gets judged. */
export function reachesValidation(c: FuzzCase, bytes: Buffer, limit: number): boolean {
  return (
    c.auth.valid &&
    c.contentType.charset === 'utf' &&
    ['none', 'identity', 'gzip'].includes(c.encoding) &&
    bytes.length <= limit
  );
}

/** The contract's verdict on a body that is a JSON object, undefined for anything else. */
export function jsonObjectVerdict(bytes: Buffer): Verdict | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return isPlainObject(parsed) ? contractVerdict(parsed) : undefined;
}

/**
 * What is wrong with an answer to `c`, or undefined when the contract allows it: the status
 * (never a 5xx), a JSON object body, and for a 400 to a JSON object the contract refuses, an
 * error that names one of the fields it broke.
 */
export function answerProblem(
  c: FuzzCase,
  bytes: Buffer,
  limit: number,
  status: number,
  body: unknown,
): string | undefined {
  if (status >= 500) return `server error ${status}: ${JSON.stringify(body)}`;
  const ok = allowed(c, bytes, limit);
  if (!ok.includes(status))
    return `status ${status}, allowed ${ok.join('/')}: ${JSON.stringify(body)}`;
  if (!isPlainObject(body)) return `body is not a JSON object: ${String(body)}`;
  if (status !== 200 && typeof body.error !== 'string')
    return `no error in ${JSON.stringify(body)}`;
  if (status === 400 && reachesValidation(c, bytes, limit)) {
    const verdict = jsonObjectVerdict(bytes);
    const error = String(body.error);
    if (verdict?.kind === 'invalid' && !verdict.broken.some((field) => error.includes(field)))
      return `${error} names none of ${verdict.broken.join(', ')}`;
  }
  return undefined;
}
