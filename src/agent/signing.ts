// Request and response signatures between nodeheal and its node agents: HMAC-SHA256 with a
// shared secret. A run request is signed over every field that decides what runs where and over
// a challenge the agent issued for it (replay protection without comparing clocks); the request
// for that challenge is signed too; every answer is signed, bound to what the request carried.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Version tag at the head of every string that is signed; a new scheme gets a new tag. */
export const SIGNATURE_SCHEME = 'nodeheal-agent-v2';

/**
 * When the signed timestamp of a run request and the agent's clock differ by more than this,
 * the agent logs a warning. Information only: a timestamp is never a reason to refuse (the
 * `sync-clock` remedy must reach a node whose clock is wrong).
 */
export const CLOCK_SKEW_WARN_MS = 60_000;

/** Header names of the signed envelopes (lower case, as node:http reports them). */
export const AGENT_HEADERS = {
  node: 'x-nodeheal-node',
  command: 'x-nodeheal-command',
  healId: 'x-nodeheal-heal-id',
  timestamp: 'x-nodeheal-timestamp',
  /** The client's own random nonce, in a challenge request (the answer is bound to it). */
  nonce: 'x-nodeheal-nonce',
  /** The challenge the agent issued, in a run request. */
  challenge: 'x-nodeheal-challenge',
  signature: 'x-nodeheal-signature',
} as const;

/** The path that issues a challenge (GET). */
export const CHALLENGE_PATH = '/v1/challenge';

/** The path that runs a command (POST). */
export const RUN_PATH = '/v1/run';

/** Everything a run request signature covers. */
export interface SignedFields {
  method: string;
  path: string;
  node: string;
  command: string;
  healId: string;
  /** Unix milliseconds when the client signed: information only, never checked against a clock. */
  timestamp: number;
  /** The challenge the agent issued for this request (used once). */
  challenge: string;
}

/** Everything a challenge request signature covers. */
export interface ChallengeRequestFields {
  method: string;
  path: string;
  node: string;
  /** The client's random nonce; the agent's answer is signed over it. */
  nonce: string;
}

// Each field has a charset without newlines, so the newline-joined canonical string is unambiguous.
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const COMMON_PATTERNS = {
  method: /^[A-Z]{1,10}$/,
  path: /^\/[A-Za-z0-9/._~-]{0,200}$/,
  // A Kubernetes node name: a DNS subdomain.
  node: /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/,
} as const;
const RUN_PATTERNS = {
  ...COMMON_PATTERNS,
  command: /^[a-z0-9][a-z0-9-]{0,62}$/,
  healId: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
  challenge: NONCE_PATTERN,
} as const;
const CHALLENGE_REQUEST_PATTERNS = { ...COMMON_PATTERNS, nonce: NONCE_PATTERN } as const;

const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

function firstInvalid<T extends object>(
  patterns: { [K in keyof T]?: RegExp },
  fields: T,
): string | undefined {
  for (const key of Object.keys(patterns) as (keyof T & string)[]) {
    const value = fields[key];
    if (typeof value !== 'string' || !patterns[key]?.test(value)) return key;
  }
  return undefined;
}

/** Why a run request's fields cannot be signed or verified; undefined when they are well-formed. */
export function invalidField(fields: SignedFields): string | undefined {
  const bad = firstInvalid(RUN_PATTERNS, fields);
  if (bad !== undefined) return bad;
  if (!Number.isSafeInteger(fields.timestamp) || fields.timestamp <= 0) return 'timestamp';
  return undefined;
}

/** Why a challenge request's fields cannot be signed or verified; undefined when well-formed. */
export function invalidChallengeField(fields: ChallengeRequestFields): string | undefined {
  return firstInvalid(CHALLENGE_REQUEST_PATTERNS, fields);
}

/** The exact text a run request signs: the scheme tag and each field on its own line. */
export function canonicalRequest(fields: SignedFields): string {
  return [
    SIGNATURE_SCHEME,
    fields.method,
    fields.path,
    fields.node,
    fields.command,
    fields.healId,
    String(fields.timestamp),
    fields.challenge,
  ].join('\n');
}

/** The exact text a challenge request signs (its own tag: never mistaken for a run request). */
export function canonicalChallengeRequest(fields: ChallengeRequestFields): string {
  return [
    `${SIGNATURE_SCHEME}-challenge`,
    fields.method,
    fields.path,
    fields.node,
    fields.nonce,
  ].join('\n');
}

function hmac(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text, 'utf8').digest();
}

/** A fresh random nonce (128 bits, hex): a client's challenge-request nonce, an agent's challenge. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

function sign(secret: string, bad: string | undefined, text: () => string): string {
  if (bad !== undefined) throw new Error(`cannot sign agent request: malformed ${bad}`);
  if (secret === '') throw new Error('cannot sign agent request: empty secret');
  return hmac(secret, text()).toString('hex');
}

/**
 * Signs a run request: the lowercase hex HMAC-SHA256 of `canonicalRequest(fields)`.
 *
 * @throws Error naming the field when a field is malformed (nothing malformed is ever sent).
 */
export function signRequest(secret: string, fields: SignedFields): string {
  return sign(secret, invalidField(fields), () => canonicalRequest(fields));
}

/**
 * Signs a challenge request: the lowercase hex HMAC-SHA256 of `canonicalChallengeRequest`.
 *
 * @throws Error naming the field when a field is malformed.
 */
export function signChallengeRequest(secret: string, fields: ChallengeRequestFields): string {
  return sign(secret, invalidChallengeField(fields), () => canonicalChallengeRequest(fields));
}

export type VerifyResult =
  { ok: true; secret: string } | { ok: false; reason: 'malformed' | 'bad-signature' };

function verify(
  secrets: readonly string[],
  bad: string | undefined,
  text: () => string,
  signature: string,
): VerifyResult {
  if (bad !== undefined || !SIGNATURE_PATTERN.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const given = Buffer.from(signature, 'hex');
  const canonical = text();
  let matched: string | undefined;
  for (const secret of secrets) {
    if (secret === '') continue;
    if (timingSafeEqual(hmac(secret, canonical), given) && matched === undefined) matched = secret;
  }
  return matched === undefined
    ? { ok: false, reason: 'bad-signature' }
    : { ok: true, secret: matched };
}

/**
 * Verifies a run request signature against every accepted secret (rotation: old and new).
 *
 * - Malformed fields or a signature that is not 64 lowercase hex digits: `malformed`.
 * - The signature is compared with each secret's HMAC in constant time, all of them every time
 *   (no early exit): no match is `bad-signature`.
 * - Empty secrets are ignored; with none left nothing verifies.
 * - The timestamp is covered by the signature but not compared with any clock.
 * - Replay (the challenge: issued by this agent, unused, not expired) is the caller's to check,
 *   after this succeeds.
 */
export function verifyRequest(
  secrets: readonly string[],
  fields: SignedFields,
  signature: string,
): VerifyResult {
  return verify(secrets, invalidField(fields), () => canonicalRequest(fields), signature);
}

/** Verifies a challenge request signature; the same rules as `verifyRequest`. */
export function verifyChallengeRequest(
  secrets: readonly string[],
  fields: ChallengeRequestFields,
  signature: string,
): VerifyResult {
  return verify(
    secrets,
    invalidChallengeField(fields),
    () => canonicalChallengeRequest(fields),
    signature,
  );
}

/**
 * The text an agent signs for its response: bound to what the request carried (the challenge of
 * a run request, the client's nonce of a challenge request), the status and a digest of the body.
 */
export function canonicalResponse(binding: string, status: number, body: string): string {
  const digest = createHash('sha256').update(body, 'utf8').digest('hex');
  return [`${SIGNATURE_SCHEME}-response`, binding, String(status), digest].join('\n');
}

/** Signs an agent response with the secret that verified its request. */
export function signResponse(
  secret: string,
  binding: string,
  status: number,
  body: string,
): string {
  return hmac(secret, canonicalResponse(binding, status, body)).toString('hex');
}

/** Verifies an agent response signature in constant time. */
export function verifyResponse(
  secret: string,
  binding: string,
  status: number,
  body: string,
  signature: string | null | undefined,
): boolean {
  if (typeof signature !== 'string' || !SIGNATURE_PATTERN.test(signature) || secret === '') {
    return false;
  }
  return timingSafeEqual(
    hmac(secret, canonicalResponse(binding, status, body)),
    Buffer.from(signature, 'hex'),
  );
}
