// The `nodeheal` command line offers every command DESIGN.md names, and commands that are not
// built yet fail honestly with exit code 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../stack/paths.ts';

const main = join(repoRoot, 'src', 'main.ts');
const run = (args: string[], input = '') =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', input, cwd: repoRoot });

const payload = (alerts: object[]) =>
  JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="NodeKernelDeadlock"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'nodeheal',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test',
    alerts,
  });

describe('nodeheal CLI', () => {
  it('lists every command of the contract in --help', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['serve', 'worker', 'agent', 'all', 'rules', 'simulate', 'status']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it.each([['serve'], ['all']])(
    '`nodeheal %s` refuses to start without webhook credentials, naming the settings',
    (command) => {
      const result = spawnSync(process.execPath, [main, command], {
        encoding: 'utf8',
        cwd: repoRoot,
        // No credentials at all (and no Redis needed: it refuses before connecting).
        env: Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith('NODEHEAL_WEBHOOK')),
        ),
        timeout: 20_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('NODEHEAL_WEBHOOK_TOKEN');
      expect(result.stderr).toContain('--insecure-no-auth');
    },
  );

  it('rejects an unknown command', () => {
    const result = run(['heal-everything']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('unknown command');
  });
});

describe('nodeheal rules check', () => {
  it('accepts the shipped catalog', () => {
    const result = run(['rules', 'check', 'alert-rules/remedies.yaml']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('kernel-deadlock');
  });

  it('reports a broken catalog with file:line:column and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeheal-rules-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'version: 1\nfaults:\n  - name: x\n    alerts: []\n    ladder:\n      - action: explode\n        timeout: 1m\n',
    );
    const result = run(['rules', 'check', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${file}:6:\\d+:`));
  });

  it('exits 2 when the file cannot be read', () => {
    expect(run(['rules', 'check', '/nonexistent/remedies.yaml']).status).toBe(2);
  });
});

describe('nodeheal simulate', () => {
  it('prints the decision and why for each alert, without side effects', () => {
    const alerts = [
      {
        status: 'firing',
        labels: { alertname: 'NodeKernelDeadlock', node: 'worker-7' },
        annotations: {},
        startsAt: '2026-11-26T12:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: 'f1',
      },
      {
        status: 'firing',
        labels: { alertname: 'NodeKernelDeadlock', instance: '10.9.9.9:9100' },
        annotations: {},
        startsAt: '2026-11-26T12:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
      },
    ];
    const result = run(['simulate', '--json', '--now', '2026-11-26T12:00:30Z'], payload(alerts));
    expect(result.status, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as {
      decision: string;
      reason: string;
      fault?: string;
      dueAt?: string;
    }[];
    expect(rows).toContainEqual(expect.objectContaining({ decision: 'ignore', reason: 'no_node' }));
    expect(rows).toContainEqual(
      expect.objectContaining({
        decision: 'debounce',
        fault: 'kernel-deadlock',
        dueAt: '2026-11-26T12:01:00.000Z',
      }),
    );
  });

  it('rejects a payload that is not Alertmanager v4 with the field named', () => {
    const result = run(['simulate'], JSON.stringify({ version: '3' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('version');
  });
});
