// The node agent's catalog: host command names only, argv lists (never shell strings built from
// input), bounded timeouts, and every error pointing at its line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_COMMANDS } from '../../../src/actions/interfaces.ts';
import {
  DEFAULT_COMMAND_PATH,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_OUTPUT_TAIL_BYTES,
  catalogCommand,
  formatAgentCatalogErrors,
  loadAgentCatalog,
  type AgentCatalog,
} from '../../../src/agent/index.ts';
import { repoRoot } from '../../stack/paths.ts';

function ok(text: string): AgentCatalog {
  const result = loadAgentCatalog(text, 'catalog.yaml');
  if (!result.ok) throw new Error(formatAgentCatalogErrors('catalog.yaml', result.errors));
  return result.catalog;
}

function errors(text: string) {
  const result = loadAgentCatalog(text, 'catalog.yaml');
  if (result.ok) throw new Error('expected the catalog to be refused');
  return result.errors;
}

const minimal = `version: 1
commands:
  restart-kubelet:
    argv: [systemctl, restart, kubelet]
    timeout: 2m
`;

describe('loadAgentCatalog', () => {
  it('loads a minimal catalog with defaults applied', () => {
    const catalog = ok(minimal);
    expect(catalog.outputTailBytes).toBe(DEFAULT_OUTPUT_TAIL_BYTES);
    expect([...catalog.commands.keys()]).toEqual(['restart-kubelet']);
    expect(catalog.commands.get('restart-kubelet')).toEqual({
      name: 'restart-kubelet',
      argv: ['systemctl', 'restart', 'kubelet'],
      timeoutMs: 120_000,
      killGraceMs: DEFAULT_KILL_GRACE_MS,
      env: { PATH: DEFAULT_COMMAND_PATH },
      description: undefined,
    });
  });

  it('keeps env, kill grace and output size as written; env may override PATH', () => {
    const catalog = ok(`version: 1
outputTailBytes: 2048
commands:
  sync-clock:
    description: step the clock
    argv: [/usr/bin/chronyc, makestep]
    timeout: 30s
    killGrace: 2s
    env: { PATH: /usr/bin, LC_ALL: C }
`);
    expect(catalog.outputTailBytes).toBe(2048);
    expect(catalog.commands.get('sync-clock')).toMatchObject({
      timeoutMs: 30_000,
      killGraceMs: 2000,
      env: { PATH: '/usr/bin', LC_ALL: 'C' },
      description: 'step the clock',
    });
  });

  it('loads the test fixture catalog (placeholders are plain strings)', () => {
    const text = readFileSync(join(repoRoot, 'test', 'agent-fixtures', 'catalog.yaml'), 'utf8');
    const catalog = ok(text);
    expect([...catalog.commands.keys()].sort()).toEqual(
      ['clean-images', 'restart-container-runtime', 'restart-kubelet', 'rotate-logs'].sort(),
    );
  });

  it('answers only names of its own catalog', () => {
    const catalog = ok(minimal);
    expect(catalogCommand(catalog, 'restart-kubelet')?.argv[0]).toBe('systemctl');
    expect(catalogCommand(catalog, 'reboot')).toBeUndefined();
    expect(catalogCommand(catalog, 'constructor')).toBeUndefined();
    expect(catalogCommand(catalog, '__proto__')).toBeUndefined();
  });

  it.each([
    [
      'a command name that is not a host command',
      `version: 1\ncommands:\n  rm-everything:\n    argv: [rm, -rf, /]\n    timeout: 1m\n`,
      3,
      `not a host command; expected one of ${HOST_COMMANDS.join(', ')}`,
    ],
    [
      'a shell string instead of an argv list',
      `version: 1\ncommands:\n  reboot:\n    argv: "systemctl reboot"\n    timeout: 1m\n`,
      4,
      'expected array',
    ],
    [
      'an empty argv',
      `version: 1\ncommands:\n  reboot:\n    argv: []\n    timeout: 1m\n`,
      4,
      'argv needs at least the program',
    ],
    [
      'an empty argument',
      `version: 1\ncommands:\n  reboot:\n    argv: [systemctl, ""]\n    timeout: 1m\n`,
      4,
      'an argument must not be empty',
    ],
    [
      'a relative program path',
      `version: 1\ncommands:\n  reboot:\n    argv: [./reboot.sh]\n    timeout: 1m\n`,
      4,
      'argv[0] must be an absolute path or a bare program name',
    ],
    [
      'a number as an argument',
      `version: 1\ncommands:\n  reboot:\n    argv: [sleep, 5]\n    timeout: 1m\n`,
      4,
      'expected string',
    ],
    [
      'a timeout that is not a duration',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: soon\n`,
      5,
      'expected a duration',
    ],
    [
      'a timeout above an hour',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: 2h\n`,
      5,
      'must be at most 60m',
    ],
    [
      'a timeout below a second',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: 500ms\n`,
      5,
      'must be at least 1s',
    ],
    [
      'a missing timeout',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n`,
      4,
      'expected string',
    ],
    [
      'an unknown key in an entry',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: 1m\n    shell: true\n`,
      6,
      'unknown key "shell"',
    ],
    [
      'a bad environment variable name',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: 1m\n    env: { "BAD-NAME": x }\n`,
      6,
      'an environment variable name',
    ],
    [
      'another version',
      `version: 2\ncommands:\n  reboot: { argv: [reboot], timeout: 1m }\n`,
      1,
      'version must be 1',
    ],
    ['no commands', `version: 1\ncommands: {}\n`, 2, 'the catalog names no command'],
    [
      'a duplicate command',
      `version: 1\ncommands:\n  reboot: { argv: [reboot], timeout: 1m }\n  reboot: { argv: [reboot], timeout: 2m }\n`,
      4,
      'Map keys must be unique',
    ],
    [
      'an output tail too large',
      `version: 1\noutputTailBytes: 1000000\ncommands:\n  reboot: { argv: [reboot], timeout: 1m }\n`,
      2,
      'Too big',
    ],
    [
      'an output tail that is not a whole number',
      `version: 1\noutputTailBytes: 300.5\ncommands:\n  reboot: { argv: [reboot], timeout: 1m }\n`,
      2,
      'expected int',
    ],
    [
      'an output tail too small',
      `version: 1\noutputTailBytes: 10\ncommands:\n  reboot: { argv: [reboot], timeout: 1m }\n`,
      2,
      'Too small',
    ],
    [
      'an unknown key at the top',
      `version: 1\nshell: /bin/sh\ncommands:\n  reboot: { argv: [reboot], timeout: 1m }\n`,
      2,
      'unknown key "shell"',
    ],
    ['a document that is a list', `- version: 1\n`, 1, 'expected object, received array'],
    [
      'commands that are a list',
      `version: 1\ncommands:\n  - reboot\n`,
      3,
      'expected record, received array',
    ],
    [
      'an entry that is a string',
      `version: 1\ncommands:\n  reboot: systemctl reboot\n`,
      3,
      'expected object, received string',
    ],
    [
      'a kill grace above five minutes',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: 1m\n    killGrace: 10m\n`,
      6,
      'must be at most 5m',
    ],
    [
      'an environment value that is not text',
      `version: 1\ncommands:\n  reboot:\n    argv: [reboot]\n    timeout: 1m\n    env: { DEBUG: [1] }\n`,
      6,
      'expected string, received array',
    ],
    [
      'a description that is not text',
      `version: 1\ncommands:\n  reboot:\n    description: 5\n    argv: [reboot]\n    timeout: 1m\n`,
      4,
      'expected string, received number',
    ],
  ])('refuses %s, at its line', (_label, text, line, message) => {
    const found = errors(text);
    expect(found.map((e) => e.message).join(' | ')).toContain(message);
    expect(found.map((e) => e.line)).toContain(line);
  });

  it('formats errors as file:line:column: path: message', () => {
    const text = `version: 1\ncommands:\n  reboot:\n    argv: []\n    timeout: 1m\n`;
    expect(formatAgentCatalogErrors('c.yaml', errors(text))).toBe(
      'c.yaml:4:11: commands.reboot.argv: argv needs at least the program',
    );
  });
});
