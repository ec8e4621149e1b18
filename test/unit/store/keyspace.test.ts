// The Redis keyspace has one owner: every key nodeheal writes is named in src/store/keys.ts, and
// no other source file spells one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYSPACE, QUEUE_PREFIX } from '../../../src/store/index.ts';

const SRC = join(import.meta.dirname, '..', '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the Redis keyspace', () => {
  it('is listed by the store module', () => {
    expect([...KEYSPACE].sort()).toEqual(
      [
        'nodeheal:alerts',
        'nodeheal:approval:*',
        'nodeheal:blocked:*',
        'nodeheal:budget',
        'nodeheal:cancel:*',
        'nodeheal:fence:node:*',
        'nodeheal:history:*',
        'nodeheal:joined-to:*',
        'nodeheal:joined:',
        'nodeheal:joined:*',
        'nodeheal:lock:node:*',
        'nodeheal:over-since:*',
        'nodeheal:paused',
        'nodeheal:record:*',
        'nodeheal:records',
        'nodeheal:records:node:*',
        'nodeheal:step-durations',
        'nodeheal:success-rates',
      ].sort(),
    );
    // BullMQ's keys of the heal queue live under the same prefix.
    expect(QUEUE_PREFIX).toBe('nodeheal');
  });

  it('is spelled nowhere else in src/', () => {
    const spelled = sourceFiles(SRC)
      .filter((file) => !file.endsWith(join('store', 'keys.ts')))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => ({ line: line.trim(), at: `${relative(SRC, file)}:${i + 1}` }))
          // Code only: comments may name keys for the reader.
          .filter(({ line }) => !line.startsWith('//') && !line.startsWith('*'))
          .filter(({ line }) => /['"`]nodeheal:[a-z]/.test(line)),
      );
    expect(spelled).toEqual([]);
  });
});
