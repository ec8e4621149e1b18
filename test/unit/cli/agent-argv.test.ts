// `nodeheal agent` starts without commander when its options are plainly valid (src/main.ts):
// the options it reads must be exactly those commander gives the agent's action for the same
// command line, and every line commander must answer itself (help, errors) must go to commander.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { agentFlagsFromArgv } from '../../../src/cli/agent-argv.ts';
import { buildCli } from '../../../src/cli/index.ts';

/** The options commander hands to the real CLI's agent action (the action itself replaced). */
async function commanderFlags(args: string[]): Promise<unknown> {
  const program = buildCli().exitOverride();
  const agent = program.commands.find((c: Command) => c.name() === 'agent')!;
  let seen: unknown;
  agent.exitOverride().action((opts: unknown) => {
    seen = opts;
  });
  await program.parseAsync(['node', 'nodeheal', 'agent', ...args]);
  return seen;
}

describe('agentFlagsFromArgv', () => {
  it.each<string[]>([
    [],
    ['--listen', '10.0.0.5:9180', '--node', 'worker-1'],
    ['--listen=[fd00::7]:9180', '--health-listen', 'off'],
    ['--secret-file', '/s', '--catalog', '/c.yaml', '--state-dir', '/var/lib/nodeheal-agent'],
    ['--self-fence', '--apiserver', '10.96.0.1:443', '--peers', 'a:1,b:2', '--peers-dns', 'p.svc'],
    [
      '--self-fence-unreachable-seconds',
      '30',
      '--self-fence-check-interval-seconds=2',
      '--self-fence-probe-timeout-seconds',
      '0.5',
      '--self-fence-reboot-seconds',
      '90',
    ],
    ['--node', 'a', '--node', 'b'],
    ['--listen', ''],
  ])('reads %j as commander does', async (...args) => {
    const flags = agentFlagsFromArgv(['node', 'nodeheal', 'agent', ...args]);
    expect(flags).toBeDefined();
    expect(flags).toEqual(await commanderFlags(args));
  });

  it.each<string[]>([
    ['--help'],
    ['-h'],
    ['--bogus'],
    ['extra'],
    ['--listen'],
    ['--self-fence=yes'],
    ['--no-self-fence'],
    ['--', 'x'],
  ])('leaves %j to commander', (...args) => {
    expect(agentFlagsFromArgv(['node', 'nodeheal', 'agent', ...args])).toBeUndefined();
  });

  it.each<string[]>([['serve'], ['worker'], ['--help'], [], ['rules', 'check'], ['x', 'agent']])(
    'is not the agent: %j',
    (...args) => {
      expect(agentFlagsFromArgv(['node', 'nodeheal', ...args])).toBeUndefined();
    },
  );
});
