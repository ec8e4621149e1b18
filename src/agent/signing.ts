// Request and response signatures between nodeheal and its node agents: HMAC-SHA256 with a
// shared secret over every field that decides what runs where, plus a timestamp and a nonce.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Version tag at the head of every string that is signed; a new scheme gets a new tag. */
export const SIGNATURE_SCHEME = 'nodeheal-agent-v1';

/** Requests older or newer than this (agent clock) are refused. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** Header names of the signed envelope (lower case, as node:http reports them). */
export const AGENT_HEADERS = {
  node: 'x-nodeheal-node',
  command: 'x-nodeheal-command',
  healId: 'x-nodeheal-heal-id',
  timestamp: 'x-nodeheal-timestamp',
  nonce: 'x-nodeheal-nonce',
  signature: 'x-nodeheal-signature',
} as const;

/** The path that runs a command. */
export const RUN_PATH = '/v1/run';

/** Everything a request signature covers. */
export interface SignedFields {
  method: string;
  path: string;
  node: string;
  command: string;
  healId: string;
  /** Unix milliseconds when the client signed. */
  timestamp: number;
  nonce: string;
}

// Each field has a charset without newlines, so the newline-joined canonical string is unambiguous.
const FIELD_PATTERNS = {
  method: /^[A-Z]{1,10}$/,
  path: /^\/[A-Za-z0-9/._~-]{0,200}$/,
  // A Kubernetes node name: a DNS subdomain.
  node: /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/,
  command: /^[a-z0-9][a-z0-9-]{0,62}$/,
  healId: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
  nonce: /^[A-Za-z0-9_-]{16,128}$/,
} as const;

const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

/** Why a set of fields cannot be signed or verified; undefined when they are well-formed. */
export function invalidField(fields: SignedFields): string | undefined {
  for (const key of Object.keys(FIELD_PATTERNS) as (keyof typeof FIELD_PATTERNS)[]) {
    if (!FIELD_PATTERNS[key].test(fields[key])) return key;
  }
  if (!Number.isSafeInteger(fields.timestamp) || fields.timestamp <= 0) return 'timestamp';
  return undefined;
}

/** The exact text that is signed: the scheme tag and each field on its own line. */
export function canonicalRequest(fields: SignedFields): string {
  return [
    SIGNATURE_SCHEME,
    fields.method,
    fields.path,
    fields.node,
    fields.command,
    fields.healId,
    String(fields.timestamp),
    fields.nonce,
  ].join('\n');
}

function hmac(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text, 'utf8').digest();
}

/** A fresh random nonce (128 bits, hex). */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Signs a request: the lowercase hex HMAC-SHA256 of `canonicalRequest(fields)`.
 *
 * @throws Error naming the field when a field is malformed (nothing malformed is ever sent).
 */
export function signRequest(secret: string, fields: SignedFields): string {
  const bad = invalidField(fields);
  if (bad !== undefined) throw new Error(`cannot sign agent request: malformed ${bad}`);
  if (secret === '') throw new Error('cannot sign agent request: empty secret');
  return hmac(secret, canonicalRequest(fields)).toString('hex');
}

export type VerifyResult =
  | { ok: true; secret: string }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'stale-timestamp' };

/**
 * Verifies a request signature against every accepted secret (rotation: old and new).
 *
 * - Malformed fields or a signature that is not 64 lowercase hex digits: `malformed`.
 * - The signature is compared with each secret's HMAC in constant time, all of them every time
 *   (no early exit): no match is `bad-signature`.
 * - Only then the timestamp: more than `maxSkewMs` away from `now` either way is
 *   `stale-timestamp` (checked after the signature, so only a key holder learns about clocks).
 * - Empty secrets are ignored; with none left nothing verifies.
 * - Replay (the nonce) is the caller's to check, after this succeeds.
 */
export function verifyRequest(
  secrets: readonly string[],
  fields: SignedFields,
  signature: string,
  now: number,
  maxSkewMs: number = MAX_CLOCK_SKEW_MS,
): VerifyResult {
  if (invalidField(fields) !== undefined || !SIGNATURE_PATTERN.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const given = Buffer.from(signature, 'hex');
  const text = canonicalRequest(fields);
  let matched: string | undefined;
  for (const secret of secrets) {
    if (secret === '') continue;
    if (timingSafeEqual(hmac(secret, text), given) && matched === undefined) matched = secret;
  }
  if (matched === undefined) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(now - fields.timestamp) > maxSkewMs) return { ok: false, reason: 'stale-timestamp' };
  return { ok: true, secret: matched };
}

/** The text an agent signs for its response: bound to the request's nonce, status and body. */
export function canonicalResponse(nonce: string, status: number, body: string): string {
  const digest = createHash('sha256').update(body, 'utf8').digest('hex');
  return [`${SIGNATURE_SCHEME}-response`, nonce, String(status), digest].join('\n');
}

/** Signs an agent response with the secret that verified its request. */
export function signResponse(secret: string, nonce: string, status: number, body: string): string {
  return hmac(secret, canonicalResponse(nonce, status, body)).toString('hex');
}

/** Verifies an agent response signature in constant time. */
export function verifyResponse(
  secret: string,
  nonce: string,
  status: number,
  body: string,
  signature: string | null | undefined,
): boolean {
  if (typeof signature !== 'string' || !SIGNATURE_PATTERN.test(signature) || secret === '') {
    return false;
  }
  return timingSafeEqual(
    hmac(secret, canonicalResponse(nonce, status, body)),
    Buffer.from(signature, 'hex'),
  );
}
