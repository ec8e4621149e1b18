// The `nodeheal` command line offers every command DESIGN.md names, and commands that are not
// built yet fail honestly with exit code 2.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../stack/paths.ts';

const main = join(repoRoot, 'src', 'main.ts');
const run = (args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', input: '' });

describe('nodeheal CLI', () => {
  it('lists every command of the contract in --help', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['serve', 'worker', 'agent', 'all', 'rules', 'simulate', 'status']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it.each([['worker'], ['agent'], ['status']])(
    '`nodeheal %s` says it is not built yet and exits 2',
    (command) => {
      const result = run([command]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('not implemented yet');
    },
  );

  it('rejects an unknown command', () => {
    const result = run(['heal-everything']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('unknown command');
  });
});
