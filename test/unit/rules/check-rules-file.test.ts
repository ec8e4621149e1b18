import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRulesFile } from '../../../src/cli/check-rules-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const VALID = `version: 1
faults:
  - name: node-not-ready
    description: not ready
    alerts:
      - alertname: NodeNotReady
      - alertname: NodeKubeletUnhealthy
        matchers: { condition: KubeletUnhealthy }
    ladder:
      - { action: restart-kubelet, timeout: 3m }
      - { action: replace, timeout: 20m }
`;

describe('checkRulesFile', () => {
  it('exits 0 and summarises a valid file', async () => {
    const path = file('valid.yaml', VALID);
    const result = await checkRulesFile(path);
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe(
      `${path}: valid, 1 fault plus the generic ladder\n` +
        '  node-not-ready: NodeNotReady, NodeKubeletUnhealthy{condition="KubeletUnhealthy"}; debounce 2m; restart-kubelet 3m → replace 20m\n' +
        '  unknown: any other alert; debounce 2m; cordon 1m → drain 10m → replace 20m\n',
    );
  });

  it('exits 1 with one file:line:col line per error', async () => {
    const path = file(
      'invalid.yaml',
      VALID.replace('timeout: 3m', 'timeout: 3 minutes').replace('action: replace', 'action: nuke'),
    );
    const result = await checkRulesFile(path);
    expect(result.exitCode).toBe(1);
    expect(result.output.trimEnd().split('\n')).toEqual([
      `${path}:10:45: faults[0].ladder[0].timeout: invalid duration "3 minutes": expected a number with a unit (d, h, m, s, ms), largest unit first, such as "120s", "2m" or "1h30m"`,
      `${path}:11:19: faults[0].ladder[1].action: unknown action "nuke"; expected one of: restart-kubelet, restart-container-runtime, clean-disk, sync-clock, reboot, cordon, drain, replace`,
    ]);
  });

  it('exits 1 for YAML syntax errors, without a path', async () => {
    const path = file('syntax.yaml', 'version: 1\nfaults:\n  - name: a\n    name: b\n');
    const result = await checkRulesFile(path);
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe(`${path}:4:5: Map keys must be unique\n`);
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.yaml'), 'ENOENT'],
    ['a directory', () => dir, 'EISDIR'],
  ])('exits 2 for %s', async (_name, path, code) => {
    const result = await checkRulesFile(path());
    expect(result.exitCode).toBe(2);
    expect(result.output).toContain(`${path()}: cannot read the rule file (${code})`);
  });
});
