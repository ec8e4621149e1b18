// The shared agent secret: read from a mounted Secret, several lines for rotation, re-read when
// the file changes, and a bad rewrite never locks nodeheal out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentSecretFile, MIN_SECRET_LENGTH, parseSecrets } from '../../../src/agent/index.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('parseSecrets', () => {
  it.each([
    [`${A}\n`, [A]],
    [`  ${A}  \r\n\n${B}\n`, [A, B]],
  ])('reads one secret per non-empty line (%j)', (text, expected) => {
    expect(parseSecrets(text, 'f')).toEqual(expected);
  });

  it.each([
    ['', 'is empty'],
    ['\n \n', 'is empty'],
    ['changeme\n', `at least ${MIN_SECRET_LENGTH} characters`],
    [`${A}\nshort\n`, `at least ${MIN_SECRET_LENGTH} characters`],
  ])('refuses %j', (text, message) => {
    expect(() => parseSecrets(text, '/etc/secret')).toThrow(message);
  });
});

describe('AgentSecretFile', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const file = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeheal-secret-'));
    dirs.push(dir);
    const path = join(dir, 'secret');
    writeFileSync(path, text);
    return path;
  };

  it('refuses to start on a missing or invalid file, naming it', () => {
    expect(() => new AgentSecretFile('/nonexistent/agent-secret')).toThrow(
      '/nonexistent/agent-secret',
    );
    expect(() => new AgentSecretFile(file('tooshort'))).toThrow('at least');
  });

  it('re-reads a rotated file after the check interval, not before', () => {
    let now = 0;
    const path = file(`${A}\n`);
    const secret = new AgentSecretFile(path, { now: () => now, checkIntervalMs: 1000 });
    expect(secret.current()).toBe(A);
    writeFileSync(path, `${B}\n${A}\n`);
    now = 500;
    expect(secret.all()).toEqual([A]);
    now = 1000;
    expect(secret.all()).toEqual([B, A]);
    expect(secret.current()).toBe(B);
  });

  it('keeps the last good secrets when the file turns bad, and reports why', () => {
    let now = 0;
    const path = file(`${A}\n`);
    const secret = new AgentSecretFile(path, { now: () => now, checkIntervalMs: 1000 });
    writeFileSync(path, '');
    now = 2000;
    expect(secret.all()).toEqual([A]);
    expect(secret.lastError()?.message).toContain('is empty');
    writeFileSync(path, `${B}\n`);
    now = 4000;
    expect(secret.all()).toEqual([B]);
    expect(secret.lastError()).toBeUndefined();
  });

  it('never shows the secret in strings or JSON', () => {
    const path = file(`${A}\n`);
    const secret = new AgentSecretFile(path);
    expect(String(secret)).not.toContain(A);
    expect(JSON.stringify({ secret })).not.toContain(A);
  });
});
