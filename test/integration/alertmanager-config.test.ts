// The Alertmanager configuration docs/alertmanager.md documents (docs/alertmanager/alertmanager.yml)
// is valid for Debian's Alertmanager (amtool check-config) and routes each kind of alert where the
// docs say: nodeheal's faults to nodeheal and on to the pager, NodehealHealInProgress nowhere,
// nodeheal's own alerts to the pager only. Its inhibition is run for real in heal-inhibition.
// Needs no stack server (it is in the stack project to run after prepare, which installs amtool).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { debianBinaries } from '../stack/debian.ts';
import { repoRoot } from '../stack/paths.ts';

const configFile = join(repoRoot, 'docs', 'alertmanager', 'alertmanager.yml');
const amtool = debianBinaries.amtool.path;

function runAmtool(args: string[]): { status: number | null; output: string } {
  const run = spawnSync(amtool, args, { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw new Error(`${amtool} ${args.join(' ')}: ${run.error.message}`);
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}

describe('docs/alertmanager/alertmanager.yml', () => {
  it('passes amtool check-config', () => {
    const { status, output } = runAmtool(['check-config', configFile]);
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it.each([
    [
      'a fault nodeheal heals',
      'nodeheal,pager',
      ['alertname=NodeNotReady', 'nodeheal=true', 'node=w1'],
    ],
    [
      'nodeheal healing a node',
      'blackhole',
      ['alertname=NodehealHealInProgress', 'node=w1', 'severity=none'],
    ],
    [
      'an abandoned heal',
      'pager',
      ['alertname=NodehealHealAbandoned', 'node=w1', 'severity=critical'],
    ],
    [
      'a heal waiting for approval',
      'approvals',
      ['alertname=NodehealAwaitingApproval', 'node=w1', 'severity=warning'],
    ],
    ['storm mode', 'pager', ['alertname=NodehealStormActive', 'severity=critical']],
    ['a refused webhook', 'pager', ['alertname=NodehealWebhookRefused', 'severity=critical']],
    ['an alert nodeheal does not heal', 'pager', ['alertname=KubePodCrashLooping', 'node=w1']],
  ])('routes %s to %s (amtool config routes test)', (_what, receivers, labels) => {
    const { status, output } = runAmtool([
      'config',
      'routes',
      'test',
      `--config.file=${configFile}`,
      `--verify.receivers=${receivers}`,
      ...labels,
    ]);
    expect(status, output).toBe(0);
    expect(output.split('\n')[0]).toBe(receivers);
  });

  it("inhibits a node's fault alerts while NodehealHealInProgress is on for that node", () => {
    const config = parse(readFileSync(configFile, 'utf8')) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
    };
    expect(config.inhibit_rules[0]).toEqual({
      source_matchers: ['alertname="NodehealHealInProgress"'],
      target_matchers: ['nodeheal="true"'],
      equal: ['node'],
    });
    for (const rule of config.inhibit_rules) expect(rule.equal).toEqual(['node']);
  });
});
