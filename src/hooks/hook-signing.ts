// Signatures of nodeheal's hook requests: HMAC-SHA256 with a shared secret (as the node agent's
// requests, src/agent/signing.ts, under a tag of its own), over the method, the path, the
// timestamp and a digest of the body. A receiver checks it and refuses stale timestamps.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Version tag at the head of the signed text; a new scheme gets a new tag. */
export const HOOK_SIGNATURE_SCHEME = 'nodeheal-hook-v1';

/** Header names of a hook request (lower case, as node:http reports them). */
export const HOOK_HEADERS = {
  /** Unix milliseconds when nodeheal signed the request. */
  timestamp: 'x-nodeheal-timestamp',
  /** Lowercase hex HMAC-SHA256 of `canonicalHookRequest`. */
  signature: 'x-nodeheal-signature',
  /** The scheme tag, so a receiver can tell a future scheme apart. */
  scheme: 'x-nodeheal-signature-scheme',
  /** The hook's name, as configured. */
  hook: 'x-nodeheal-hook',
} as const;

/** How far a receiver should let a timestamp be from its clock (the docs' recipe). */
export const HOOK_TIMESTAMP_TOLERANCE_MS = 5 * 60_000;

export interface HookSignedFields {
  method: string;
  /** The request target as sent: path and query (`/hooks/nodeheal?x=1`). */
  path: string;
  /** Unix milliseconds. */
  timestamp: number;
  body: string;
}

/** The exact text signed: tag, method, path, timestamp and the body's SHA-256 (hex), one per line. */
export function canonicalHookRequest(fields: HookSignedFields): string {
  const digest = createHash('sha256').update(fields.body, 'utf8').digest('hex');
  return [
    HOOK_SIGNATURE_SCHEME,
    fields.method.toUpperCase(),
    fields.path,
    String(fields.timestamp),
    digest,
  ].join('\n');
}

function hmac(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text, 'utf8').digest();
}

/** Signs a hook request: lowercase hex HMAC-SHA256 of its canonical text. */
export function signHookRequest(secret: string, fields: HookSignedFields): string {
  if (secret === '') throw new Error('cannot sign hook request: empty secret');
  if (/[\r\n]/.test(fields.path)) throw new Error('cannot sign hook request: malformed path');
  return hmac(secret, canonicalHookRequest(fields)).toString('hex');
}

/**
 * Verifies a hook request's signature against every accepted secret (rotation), in constant time.
 *
 * - A signature that is not 64 lowercase hex digits never verifies.
 * - Empty secrets are ignored.
 * - The timestamp is covered by the signature; how stale a request may be is the receiver's
 *   call (`HOOK_TIMESTAMP_TOLERANCE_MS` is what docs/hooks.md recommends).
 */
export function verifyHookRequest(
  secrets: readonly string[],
  fields: HookSignedFields,
  signature: string | null | undefined,
): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const given = Buffer.from(signature, 'hex');
  const text = canonicalHookRequest(fields);
  let ok = false;
  for (const secret of secrets) {
    if (secret !== '' && timingSafeEqual(hmac(secret, text), given)) ok = true;
  }
  return ok;
}
