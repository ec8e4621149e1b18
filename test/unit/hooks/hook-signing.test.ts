import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalHookRequest,
  HOOK_SIGNATURE_SCHEME,
  signHookRequest,
  verifyHookRequest,
} from '../../../src/hooks/index.ts';

const SECRET = 'a'.repeat(64);
const fields = {
  method: 'POST',
  path: '/hooks/nodeheal?x=1',
  timestamp: 1764590400000,
  body: '{"a":1}',
};

describe('hook signatures', () => {
  it('sign the documented canonical text (a receiver can recompute it)', () => {
    const digest = createHash('sha256').update('{"a":1}').digest('hex');
    const text = `${HOOK_SIGNATURE_SCHEME}\nPOST\n/hooks/nodeheal?x=1\n1764590400000\n${digest}`;
    expect(canonicalHookRequest(fields)).toBe(text);
    expect(signHookRequest(SECRET, fields)).toBe(
      createHmac('sha256', SECRET).update(text).digest('hex'),
    );
  });

  it('verify with any accepted secret, and not with another', () => {
    const signature = signHookRequest(SECRET, fields);
    expect(verifyHookRequest([SECRET], fields, signature)).toBe(true);
    expect(verifyHookRequest(['b'.repeat(64), SECRET], fields, signature)).toBe(true);
    expect(verifyHookRequest(['b'.repeat(64)], fields, signature)).toBe(false);
    expect(verifyHookRequest(['', ''], fields, signature)).toBe(false);
  });

  it.each([
    ['the body', { body: '{"a":2}' }],
    ['the path', { path: '/hooks/other' }],
    ['the method', { method: 'PUT' }],
    ['the timestamp', { timestamp: fields.timestamp + 1 }],
  ])('cover %s', (_name, change) => {
    const signature = signHookRequest(SECRET, fields);
    expect(verifyHookRequest([SECRET], { ...fields, ...change }, signature)).toBe(false);
  });

  it('refuse malformed signatures and empty secrets', () => {
    expect(verifyHookRequest([SECRET], fields, undefined)).toBe(false);
    expect(verifyHookRequest([SECRET], fields, 'zz')).toBe(false);
    expect(verifyHookRequest([SECRET], fields, signHookRequest(SECRET, fields).toUpperCase())).toBe(
      false,
    );
    expect(() => signHookRequest('', fields)).toThrow(/empty secret/);
    expect(() => signHookRequest(SECRET, { ...fields, path: '/a\nb' })).toThrow(/path/);
  });
});
