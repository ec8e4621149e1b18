// Request signatures between nodeheal and its node agents: every signed field matters (the
// challenge too), the timestamp is signed but compared with no clock, rotated secrets are
// accepted, challenge requests are signed on their own, and responses are bound to requests.
import { describe, expect, it } from 'vitest';
import {
  canonicalChallengeRequest,
  canonicalRequest,
  invalidChallengeField,
  invalidField,
  newNonce,
  signChallengeRequest,
  signRequest,
  signResponse,
  verifyChallengeRequest,
  verifyRequest,
  verifyResponse,
  type ChallengeRequestFields,
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
  challenge: '0123456789abcdef0123456789abcdef',
};

describe('signRequest / verifyRequest', () => {
  it('accepts its own signature and names the secret that matched', () => {
    const signature = signRequest(SECRET, fields);
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyRequest([SECRET], fields, signature)).toEqual({ ok: true, secret: SECRET });
  });

  it('signs a canonical string with each field on its own line, scheme first', () => {
    expect(canonicalRequest(fields).split('\n')).toEqual([
      'nodeheal-agent-v2',
      'POST',
      '/v1/run',
      'node-a',
      'restart-kubelet',
      'heal-20261126-0001',
      String(NOW),
      fields.challenge,
    ]);
  });

  it.each<[keyof SignedFields, string | number]>([
    ['method', 'GET'],
    ['path', '/v1/other'],
    ['node', 'node-b'],
    ['command', 'reboot'],
    ['healId', 'heal-20261126-0002'],
    ['timestamp', NOW + 1],
    ['challenge', 'ffffffffffffffffffffffffffffffff'],
  ])('refuses a request whose %s was changed after signing', (field, value) => {
    const signature = signRequest(SECRET, fields);
    const tampered = { ...fields, [field]: value };
    expect(verifyRequest([SECRET], tampered, signature)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a signature made with another secret', () => {
    const signature = signRequest(OTHER, fields);
    expect(verifyRequest([SECRET], fields, signature)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('accepts every secret of a rotation, old and new, and reports which one matched', () => {
    const signedWithOld = signRequest(OTHER, fields);
    expect(verifyRequest([SECRET, OTHER], fields, signedWithOld)).toEqual({
      ok: true,
      secret: OTHER,
    });
  });

  it('accepts nothing with no secret or only empty secrets', () => {
    const signature = signRequest(SECRET, fields);
    expect(verifyRequest([], fields, signature).ok).toBe(false);
    expect(verifyRequest([''], fields, signature).ok).toBe(false);
  });

  it.each([
    ['a day old', -86_400_000],
    ['an hour in the future', 3_600_000],
    ['the epoch', 1 - NOW],
  ])('accepts a correctly signed timestamp %s: no clock is consulted', (_label, offset) => {
    const signed = { ...fields, timestamp: NOW + offset };
    expect(verifyRequest([SECRET], signed, signRequest(SECRET, signed))).toEqual({
      ok: true,
      secret: SECRET,
    });
  });

  it.each([
    ['uppercase hex', (s: string) => s.toUpperCase()],
    ['too short', (s: string) => s.slice(2)],
    ['not hex', (s: string) => `zz${s.slice(2)}`],
    ['empty', () => ''],
  ])('treats a %s signature as malformed', (_label, mangle) => {
    const signature = mangle(signRequest(SECRET, fields));
    expect(verifyRequest([SECRET], fields, signature)).toEqual({
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
    ['challenge', 'short'],
    ['challenge', 'a'.repeat(129)],
    ['path', 'v1/run'],
    ['method', 'post'],
    ['timestamp', -1],
    ['timestamp', 1.5],
  ])('will not sign or verify a malformed %s (%j)', (field, value) => {
    const bad = { ...fields, [field]: value };
    expect(invalidField(bad)).toBe(field);
    expect(() => signRequest(SECRET, bad)).toThrow(`malformed ${field}`);
    expect(verifyRequest([SECRET], bad, 'a'.repeat(64))).toEqual({
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
    for (const nonce of nonces) {
      expect(invalidField({ ...fields, challenge: nonce })).toBeUndefined();
    }
  });
});

describe('signChallengeRequest / verifyChallengeRequest', () => {
  const ask: ChallengeRequestFields = {
    method: 'GET',
    path: '/v1/challenge',
    node: 'node-a',
    nonce: 'fedcba9876543210fedcba9876543210',
  };

  it('signs a canonical string of its own, tagged apart from run requests', () => {
    expect(canonicalChallengeRequest(ask).split('\n')).toEqual([
      'nodeheal-agent-v2-challenge',
      'GET',
      '/v1/challenge',
      'node-a',
      ask.nonce,
    ]);
    const signature = signChallengeRequest(SECRET, ask);
    expect(verifyChallengeRequest([OTHER, SECRET], ask, signature)).toEqual({
      ok: true,
      secret: SECRET,
    });
  });

  it.each<[keyof ChallengeRequestFields, string]>([
    ['method', 'POST'],
    ['path', '/v1/run'],
    ['node', 'node-b'],
    ['nonce', 'ffffffffffffffffffffffffffffffff'],
  ])('refuses a challenge request whose %s was changed after signing', (field, value) => {
    const signature = signChallengeRequest(SECRET, ask);
    expect(verifyChallengeRequest([SECRET], { ...ask, [field]: value }, signature)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('never verifies a challenge-request signature as a run request, or the reverse', () => {
    const asRun = { ...fields, method: 'GET', path: '/v1/challenge' };
    expect(verifyRequest([SECRET], asRun, signChallengeRequest(SECRET, ask)).ok).toBe(false);
    expect(
      verifyChallengeRequest(
        [SECRET],
        { method: 'POST', path: '/v1/run', node: 'node-a', nonce: fields.challenge },
        signRequest(SECRET, fields),
      ).ok,
    ).toBe(false);
  });

  it.each<[keyof ChallengeRequestFields, string]>([
    ['nonce', 'short'],
    ['node', 'node-a\nrestart-kubelet'],
    ['method', 'get'],
  ])('will not sign or verify a malformed %s (%j)', (field, value) => {
    const bad = { ...ask, [field]: value };
    expect(invalidChallengeField(bad)).toBe(field);
    expect(() => signChallengeRequest(SECRET, bad)).toThrow(`malformed ${field}`);
    expect(verifyChallengeRequest([SECRET], bad, 'a'.repeat(64))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('signResponse / verifyResponse', () => {
  const body = JSON.stringify({ outcome: 'ok', exitCode: 0 });
  const signature = signResponse(SECRET, fields.challenge, 200, body);

  it('accepts the response to this request', () => {
    expect(verifyResponse(SECRET, fields.challenge, 200, body, signature)).toBe(true);
  });

  it.each([
    ['another request (challenge)', OTHER, 'ffffffffffffffffffffffffffffffff', 200, body],
    ['a changed status', SECRET, fields.challenge, 409, body],
    ['a changed body', SECRET, fields.challenge, 200, body.replace('ok', 'failed')],
    ['another secret', OTHER, fields.challenge, 200, body],
  ])('refuses a response signed for %s', (_label, secret, nonce, status, text) => {
    expect(verifyResponse(secret, nonce, status, text, signature)).toBe(false);
  });

  it.each([[null], [undefined], [''], ['nothex']])('refuses a missing signature (%j)', (sig) => {
    expect(verifyResponse(SECRET, fields.challenge, 200, body, sig)).toBe(false);
  });
});
