// `nodeheal agent` started without commander. The node agent runs on every node, and commander
// is about 1 MiB resident it would keep for parsing a dozen flags once (docs/benchmarks.md,
// "Footprint"). node:util's parseArgs reads the same options (agent-options.ts); anything it
// does not take as plainly valid (help, an unknown option, a missing value, an argument) goes to
// commander instead, which answers as it always did.
import { parseArgs } from 'node:util';
import type { AgentFlags } from '../agent/index.ts';
import { AGENT_OPTIONS } from './agent-options.ts';

const longName = (flags: string) => flags.split(' ')[0]!.slice(2);

const PARSE_OPTIONS = Object.fromEntries(
  AGENT_OPTIONS.map((o) => [
    longName(o.flags),
    { type: o.flags.includes(' <') ? ('string' as const) : ('boolean' as const) },
  ]),
);

/**
 * The agent's options when `argv` (process.argv) is `nodeheal agent` with valid options only;
 * undefined for any other command line, which commander then handles.
 *
 * - Only `argv[2] === 'agent'`; no positional argument, no unknown option, no `--help`.
 * - Keys as commander gives them (`--state-dir` → `stateDir`); a switch is `true`.
 */
export function agentFlagsFromArgv(argv: readonly string[]): AgentFlags | undefined {
  if (argv[2] !== 'agent') return undefined;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv.slice(3),
      options: PARSE_OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch {
    return undefined;
  }
  const flags: Record<string, string | boolean> = {};
  for (const option of AGENT_OPTIONS) {
    const value = values[longName(option.flags)];
    if (value !== undefined) flags[option.key] = value;
  }
  return flags;
}
