// README's first command: `npm run demo` heals a node end to end (Prometheus → Alertmanager →
// nodeheal serve → worker → replacement) on its own embedded stack.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../stack/paths.ts';

describe('npm run demo', () => {
  it('brings up the stack, kills a kubelet, and nodeheal replaces the node', () => {
    const result = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'demo.ts'), '--once'], {
      encoding: 'utf8',
      timeout: 360_000,
      cwd: repoRoot,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/heal healed \d+ s after the kubelet died/);
    expect(output).toMatch(/pool demo-pool now: .*demo-pool-r-/);
  }, 400_000);
});
