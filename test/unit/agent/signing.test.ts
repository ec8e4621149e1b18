// Request signatures between nodeheal and its node agents: every signed field matters, clocks
// must agree within ±60 s, rotated secrets are accepted, and responses are bound to requests.
import { describe, expect, it } from 'vitest';
import {
  MAX_CLOCK_SKEW_MS,
  canonicalRequest,
  invalidField,
  newNonce,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
  type SignedFields,
} from '../../../src/agent/index.ts';

const SECRET = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const NOW = Date.parse('2026-11-26T12:00:00Z');

const fields: SignedFields = {
  method: 'POST',
  path: '/v1/run',
  node: 'node-a',
  command: 'restart-kubelet',
  healId: 'heal-20261126-0001',
  timestamp: NOW,
  nonce: '0123456789abcdef0123456789abcdef',
};

describe('signRequest / verifyRequest', () => {
  it('accepts its own signature and names the secret that matched', () => {
    const signature = signRequest(SECRET, fields);
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyRequest([SECRET], fields, signature, NOW)).toEqual({ ok: true, secret: SECRET });
  });

  it('signs a canonical string with each field on its own line, scheme first', () => {
    expect(canonicalRequest(fields).split('\n')).toEqual([
      'nodeheal-agent-v1',
      'POST',
      '/v1/run',
      'node-a',
      'restart-kubelet',
      'heal-20261126-0001',
      String(NOW),
      fields.nonce,
    ]);
  });

  it.each<[keyof SignedFields, string | number]>([
    ['method', 'GET'],
    ['path', '/v1/other'],
    ['node', 'node-b'],
    ['command', 'reboot'],
    ['healId', 'heal-20261126-0002'],
    ['timestamp', NOW + 1],
    ['nonce', 'ffffffffffffffffffffffffffffffff'],
  ])('refuses a request whose %s was changed after signing', (field, value) => {
    const signature = signRequest(SECRET, fields);
    const tampered = { ...fields, [field]: value };
    expect(verifyRequest([SECRET], tampered, signature, NOW)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a signature made with another secret', () => {
    const signature = signRequest(OTHER, fields);
    expect(verifyRequest([SECRET], fields, signature, NOW)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('accepts every secret of a rotation, old and new, and reports which one matched', () => {
    const signedWithOld = signRequest(OTHER, fields);
    expect(verifyRequest([SECRET, OTHER], fields, signedWithOld, NOW)).toEqual({
      ok: true,
      secret: OTHER,
    });
  });

  it('accepts nothing with no secret or only empty secrets', () => {
    const signature = signRequest(SECRET, fields);
    expect(verifyRequest([], fields, signature, NOW).ok).toBe(false);
    expect(verifyRequest([''], fields, signature, NOW).ok).toBe(false);
  });

  it.each([
    ['61 s old', -61_000, 'stale-timestamp'],
    ['10 min old', -600_000, 'stale-timestamp'],
    ['61 s in the future', 61_000, 'stale-timestamp'],
    ['59 s old', -59_000, 'ok'],
    ['59 s in the future', 59_000, 'ok'],
    ['exactly 60 s old', -MAX_CLOCK_SKEW_MS, 'ok'],
  ])('a timestamp %s is %s', (_label, offset, expected) => {
    const signed = { ...fields, timestamp: NOW + offset };
    const result = verifyRequest([SECRET], signed, signRequest(SECRET, signed), NOW);
    expect(result.ok ? 'ok' : result.reason).toBe(expected);
  });

  it('checks the signature before the clock: a forged old request is bad-signature', () => {
    const old = { ...fields, timestamp: NOW - 600_000 };
    const result = verifyRequest([SECRET], old, signRequest(OTHER, old), NOW);
    expect(result).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it.each([
    ['uppercase hex', (s: string) => s.toUpperCase()],
    ['too short', (s: string) => s.slice(2)],
    ['not hex', (s: string) => `zz${s.slice(2)}`],
    ['empty', () => ''],
  ])('treats a %s signature as malformed', (_label, mangle) => {
    const signature = mangle(signRequest(SECRET, fields));
    expect(verifyRequest([SECRET], fields, signature, NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it.each<[keyof SignedFields, string | number]>([
    ['node', 'node-a\nrestart-kubelet'],
    ['node', 'Node_A'],
    ['command', 'restart kubelet; reboot'],
    ['command', ''],
    ['healId', 'heal\n1'],
    ['healId', '../../etc/passwd'],
    ['nonce', 'short'],
    ['path', 'v1/run'],
    ['method', 'post'],
    ['timestamp', -1],
    ['timestamp', 1.5],
  ])('will not sign or verify a malformed %s (%j)', (field, value) => {
    const bad = { ...fields, [field]: value };
    expect(invalidField(bad)).toBe(field);
    expect(() => signRequest(SECRET, bad)).toThrow(`malformed ${field}`);
    expect(verifyRequest([SECRET], bad, 'a'.repeat(64), NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses to sign with an empty secret', () => {
    expect(() => signRequest('', fields)).toThrow('empty secret');
  });

  it('makes a fresh 128-bit nonce each time', () => {
    const nonces = new Set(Array.from({ length: 100 }, () => newNonce()));
    expect(nonces.size).toBe(100);
    for (const nonce of nonces) expect(invalidField({ ...fields, nonce })).toBeUndefined();
  });
});

describe('signResponse / verifyResponse', () => {
  const body = JSON.stringify({ outcome: 'ok', exitCode: 0 });
  const signature = signResponse(SECRET, fields.nonce, 200, body);

  it('accepts the response to this request', () => {
    expect(verifyResponse(SECRET, fields.nonce, 200, body, signature)).toBe(true);
  });

  it.each([
    ['another request (nonce)', OTHER, 'ffffffffffffffffffffffffffffffff', 200, body],
    ['a changed status', SECRET, fields.nonce, 409, body],
    ['a changed body', SECRET, fields.nonce, 200, body.replace('ok', 'failed')],
    ['another secret', OTHER, fields.nonce, 200, body],
  ])('refuses a response signed for %s', (_label, secret, nonce, status, text) => {
    expect(verifyResponse(secret, nonce, status, text, signature)).toBe(false);
  });

  it.each([[null], [undefined], [''], ['nothex']])('refuses a missing signature (%j)', (sig) => {
    expect(verifyResponse(SECRET, fields.nonce, 200, body, sig)).toBe(false);
  });
});
