import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SecretError,
  SecretSource,
  checkAuthorization,
  wwwAuthenticateHeader,
} from '../../../src/http/auth.ts';
import type { AuthResult, WebhookCredentials } from '../../../src/http/auth.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const bearerOnly: WebhookCredentials = { bearerToken: 's3cret-token' };
const basicOnly: WebhookCredentials = {
  basic: { username: 'alertmanager', password: 'p@ss:word' },
};
const both: WebhookCredentials = { ...bearerOnly, ...basicOnly };

describe('checkAuthorization', () => {
  it.each<[string, string | undefined, WebhookCredentials, AuthResult]>([
    ['bearer ok', 'Bearer s3cret-token', bearerOnly, 'ok'],
    ['bearer scheme lower case', 'bearer s3cret-token', bearerOnly, 'ok'],
    ['bearer scheme upper case, extra spaces', '  BEARER   s3cret-token  ', bearerOnly, 'ok'],
    ['bearer wrong token', 'Bearer s3cret-tokem', bearerOnly, 'invalid'],
    ['bearer token prefix', 'Bearer s3cret', bearerOnly, 'invalid'],
    ['bearer token longer', 'Bearer s3cret-token-and-more', bearerOnly, 'invalid'],
    ['bearer token case differs', 'Bearer S3CRET-TOKEN', bearerOnly, 'invalid'],
    ['bearer without token', 'Bearer', bearerOnly, 'invalid'],
    ['bearer with blank token', 'Bearer   ', bearerOnly, 'invalid'],
    ['header missing', undefined, bearerOnly, 'missing'],
    ['header empty', '', bearerOnly, 'missing'],
    ['header blank', '   ', bearerOnly, 'missing'],
    ['token without scheme', 's3cret-token', bearerOnly, 'invalid'],
    ['bearer when only basic is configured', 'Bearer s3cret-token', basicOnly, 'invalid'],
    ['basic ok', `Basic ${b64('alertmanager:p@ss:word')}`, basicOnly, 'ok'],
    ['basic scheme lower case', `basic ${b64('alertmanager:p@ss:word')}`, basicOnly, 'ok'],
    ['basic wrong password', `Basic ${b64('alertmanager:wrong')}`, basicOnly, 'invalid'],
    ['basic wrong user', `Basic ${b64('someone:p@ss:word')}`, basicOnly, 'invalid'],
    [
      'basic password with user swapped',
      `Basic ${b64('p@ss:word:alertmanager')}`,
      basicOnly,
      'invalid',
    ],
    ['basic without colon', `Basic ${b64('alertmanager')}`, basicOnly, 'invalid'],
    ['basic malformed base64', 'Basic !!!not-base64!!!', basicOnly, 'invalid'],
    [
      'basic base64 bad padding',
      `Basic ${b64('alertmanager:p@ss:word').replace(/=+$/, '')}=`,
      basicOnly,
      'invalid',
    ],
    [
      'basic base64 with a trailing junk char',
      `Basic ${b64('alertmanager:p@ss:word')}x`,
      basicOnly,
      'invalid',
    ],
    [
      'basic when only bearer is configured',
      `Basic ${b64('alertmanager:p@ss:word')}`,
      bearerOnly,
      'invalid',
    ],
    ['both configured, bearer ok', 'Bearer s3cret-token', both, 'ok'],
    ['both configured, basic ok', `Basic ${b64('alertmanager:p@ss:word')}`, both, 'ok'],
    ['wrong scheme', 'Token s3cret-token', both, 'invalid'],
    ['digest scheme', 'Digest username="alertmanager"', both, 'invalid'],
    ['nothing configured, header present', 'Bearer anything', {}, 'invalid'],
    ['nothing configured, header missing', undefined, {}, 'missing'],
    ['empty configured token never matches', 'Bearer x', { bearerToken: '' }, 'invalid'],
  ])('%s', (_name, header, creds, expected) => {
    expect(checkAuthorization(header, creds)).toBe(expected);
  });
});

describe('wwwAuthenticateHeader', () => {
  it.each<[string, WebhookCredentials, string[]]>([
    ['bearer', bearerOnly, ['Bearer realm="nodeheal"']],
    ['basic', basicOnly, ['Basic realm="nodeheal", charset="UTF-8"']],
    ['both', both, ['Bearer realm="nodeheal"', 'Basic realm="nodeheal", charset="UTF-8"']],
    ['nothing configured', {}, ['Bearer realm="nodeheal"']],
  ])('%s', (_name, creds, expected) => {
    expect(wwwAuthenticateHeader(creds)).toEqual(expected);
  });

  it('quotes a custom realm', () => {
    expect(wwwAuthenticateHeader(bearerOnly, 'my "realm"')).toEqual([
      'Bearer realm="my \\"realm\\""',
    ]);
  });
});

describe('SecretSource', () => {
  let dir: string;
  let file: string;
  let clock: number;
  const now = () => clock;

  /** Writes the file and gives it a distinct mtime, as a Secret rotation would. */
  function write(content: string, mtimeSeconds: number): void {
    writeFileSync(file, content);
    utimesSync(file, mtimeSeconds, mtimeSeconds);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodeheal-secret-'));
    file = join(dir, 'token');
    clock = 1_000_000;
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns a literal value', () => {
    expect(SecretSource.fromValue('abc').get()).toBe('abc');
  });

  it.each([
    ['no newline', 'tok', 'tok'],
    ['trailing newline', 'tok\n', 'tok'],
    ['trailing CRLF', 'tok\r\n', 'tok'],
    ['inner spaces kept', ' to k\n', ' to k'],
  ])('reads a file: %s', (_name, content, expected) => {
    write(content, 1000);
    expect(SecretSource.fromFile(file, { now }).get()).toBe(expected);
  });

  it('re-reads the file after rotation, checking at most once per second', () => {
    write('first\n', 1000);
    const source = SecretSource.fromFile(file, { now });
    expect(source.get()).toBe('first');

    write('second\n', 2000);
    clock += 999;
    expect(source.get()).toBe('first'); // within the second: not checked
    clock += 1;
    expect(source.get()).toBe('second');

    write('third\n', 3000);
    clock += 1000;
    expect(source.get()).toBe('third');
  });

  it('does not re-read when nothing changed', () => {
    write('same\n', 1000);
    const source = SecretSource.fromFile(file, { now });
    // Same size and mtime, different content: proves the file was not read again.
    writeFileSync(file, 'SAME\n');
    utimesSync(file, 1000, 1000);
    clock += 5000;
    expect(source.get()).toBe('same');
  });

  it.each([
    ['missing', (): void => undefined, 'SECRET_FILE_MISSING', /does not exist/],
    ['empty', () => write('', 1000), 'SECRET_FILE_EMPTY', /is empty/],
    ['only a newline', () => write('\n', 1000), 'SECRET_FILE_EMPTY', /is empty/],
  ])('fails clearly at start when the file is %s', (_name, setup, code, message) => {
    setup();
    let caught: unknown;
    try {
      SecretSource.fromFile(file, { now });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SecretError);
    expect(caught).toMatchObject({ code, path: file });
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain(file);
  });

  it('fails while the file is gone, and recovers when it is back', () => {
    write('first\n', 1000);
    const source = SecretSource.fromFile(file, { now });
    unlinkSync(file);
    clock += 1000;
    expect(() => source.get()).toThrow(/does not exist/);
    write('second\n', 2000);
    clock += 500;
    expect(() => source.get()).toThrow(/does not exist/); // still within the second
    clock += 500;
    expect(source.get()).toBe('second');
  });

  it('never shows the value when logged', () => {
    write('hunter2\n', 1000);
    const source = SecretSource.fromFile(file, { now });
    expect(JSON.stringify({ source })).not.toContain('hunter2');
    expect(String(source)).not.toContain('hunter2');
    expect(String(SecretSource.fromValue('hunter2'))).not.toContain('hunter2');
  });
});
