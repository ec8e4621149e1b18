// The agent's idempotency record: a (heal id, command) that ran is answered from the record, also
// after an agent restart, and a command cut short by the agent stopping is never run again.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INTERRUPTED_EXIT_CODE, ResultStore } from '../../../src/agent/index.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const run = { exitCode: 0, output: 'done\n', durationMs: 1200, timedOut: false };

describe('ResultStore', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeheal-results-'));
    dirs.push(dir);
    return dir;
  };

  it('records running, then done, per (heal id, command)', () => {
    const store = new ResultStore({ now: () => NOW });
    expect(store.get('h1', 'restart-kubelet')).toBeUndefined();
    store.begin('h1', 'restart-kubelet', NOW);
    expect(store.get('h1', 'restart-kubelet')?.state).toBe('running');
    store.finish('h1', 'restart-kubelet', run);
    expect(store.get('h1', 'restart-kubelet')).toMatchObject({
      state: 'done',
      exitCode: 0,
      output: 'done\n',
      startedAt: '2026-11-26T12:00:00.000Z',
    });
    expect(store.get('h1', 'reboot')).toBeUndefined();
    expect(store.get('h2', 'restart-kubelet')).toBeUndefined();
  });

  it('keeps at most maxEntries results, dropping the oldest', () => {
    const store = new ResultStore({ now: () => NOW, maxEntries: 2 });
    for (const id of ['h1', 'h2', 'h3']) store.finish(id, 'reboot', run);
    expect(store.size).toBe(2);
    expect(store.get('h1', 'reboot')).toBeUndefined();
    expect(store.get('h3', 'reboot')).toBeDefined();
  });

  it('forgets results older than the retention', () => {
    let now = NOW;
    const store = new ResultStore({ now: () => now, retentionMs: 60_000 });
    store.begin('h1', 'reboot', NOW);
    store.finish('h1', 'reboot', run);
    now = NOW + 61_000;
    expect(store.get('h1', 'reboot')).toBeUndefined();
  });

  it('survives a restart through its directory, with file names that are hashes', () => {
    const dir = tempDir();
    const first = new ResultStore({ dir, now: () => NOW });
    first.begin('h1', 'restart-kubelet', NOW);
    first.finish('h1', 'restart-kubelet', run);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.json$/)]);
    const second = new ResultStore({ dir, now: () => NOW + 1000 });
    expect(second.get('h1', 'restart-kubelet')).toMatchObject({ state: 'done', exitCode: 0 });
  });

  it('turns a command that was running when the agent stopped into an interrupted result', () => {
    const dir = tempDir();
    new ResultStore({ dir, now: () => NOW }).begin('h1', 'reboot', NOW);
    const after = new ResultStore({ dir, now: () => NOW + 300_000 });
    const record = after.get('h1', 'reboot');
    expect(record).toMatchObject({ state: 'done', exitCode: INTERRUPTED_EXIT_CODE });
    expect(record?.output).toContain('interrupted');
  });

  it('drops unreadable, foreign and expired files when it opens', () => {
    const dir = tempDir();
    const old = new ResultStore({ dir, now: () => NOW });
    old.finish('h-old', 'reboot', run);
    writeFileSync(join(dir, `${'0'.repeat(64)}.json`), '{not json');
    writeFileSync(join(dir, `${'1'.repeat(64)}.json.tmp`), '{}');
    const store = new ResultStore({ dir, now: () => NOW + 48 * 3_600_000 });
    expect(store.size).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  // A record on disk is read back only when every field has its type; anything else (a file
  // from another version, a torn write that is still JSON) is dropped, never answered from.
  const written = {
    healId: 'h1',
    command: 'reboot',
    startedAt: '2026-11-26T12:00:00.000Z',
    state: 'done',
    exitCode: 0,
    output: 'ok',
    durationMs: 10,
    timedOut: false,
  };
  it.each<[string, unknown]>([
    ['an array', [written]],
    ['null', null],
    ['a heal id that is not text', { ...written, healId: 7 }],
    ['a start that is not an ISO time', { ...written, startedAt: '26.11.2026' }],
    ['a start with an offset instead of Z', { ...written, startedAt: '2026-11-26T12:00:00+01:00' }],
    ['an unknown state', { ...written, state: 'queued' }],
    ['a fractional exit code', { ...written, exitCode: 1.5 }],
    ['a negative duration', { ...written, durationMs: -1 }],
    ['no output', { ...written, output: undefined }],
    ['timedOut as text', { ...written, timedOut: 'false' }],
  ])('drops a record file holding %s', (_label, content) => {
    const dir = tempDir();
    const name = `${'2'.repeat(64)}.json`;
    writeFileSync(join(dir, name), JSON.stringify(content));
    const store = new ResultStore({ dir, now: () => NOW + 1000 });
    expect(store.size).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reads a well-formed record file back, without fields it does not know', () => {
    const dir = tempDir();
    const first = new ResultStore({ dir, now: () => NOW });
    first.finish('h1', 'reboot', run);
    const [name] = readdirSync(dir);
    writeFileSync(join(dir, name!), JSON.stringify({ ...written, extra: 'x' }));
    const store = new ResultStore({ dir, now: () => NOW + 1000 });
    expect(store.get('h1', 'reboot')).toEqual(written);
  });
});
