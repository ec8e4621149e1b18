// The node agent's command catalog: which host command name runs which argv, for how long.
// The agent runs nothing else. Loaded from YAML, validated with zod, errors with line numbers.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isNode, isScalar, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import type { HostCommand } from '../actions/index.ts';
import { isDuration, parseDuration } from '../rules/index.ts';
import { AGENT_HOST_COMMANDS } from './host-command-names.ts';

/** A command that ran longer than its timeout gets SIGTERM, then SIGKILL this much later. */
export const DEFAULT_KILL_GRACE_MS = 5_000;
/** How much of a command's output (stdout and stderr interleaved, the end of it) is reported. */
export const DEFAULT_OUTPUT_TAIL_BYTES = 4096;
/** PATH given to commands whose catalog entry does not set one. */
export const DEFAULT_COMMAND_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MIN_TIMEOUT_MS = 1_000;
const MAX_TIMEOUT_MS = 60 * 60_000;

export interface CatalogCommand {
  readonly name: HostCommand;
  /** argv[0] is an absolute path or a bare program name looked up in the command's PATH. */
  readonly argv: readonly [string, ...string[]];
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  /** The whole environment of the command: PATH (default `DEFAULT_COMMAND_PATH`) and `env`. */
  readonly env: Readonly<Record<string, string>>;
  readonly description: string | undefined;
}

export interface AgentCatalog {
  readonly source: string;
  readonly outputTailBytes: number;
  readonly commands: ReadonlyMap<HostCommand, CatalogCommand>;
}

export interface AgentCatalogError {
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

export type LoadAgentCatalogResult =
  | { readonly ok: true; readonly catalog: AgentCatalog }
  | { readonly ok: false; readonly errors: readonly AgentCatalogError[] };

export class AgentCatalogInvalidError extends Error {
  readonly code = 'AGENT_CATALOG_INVALID';
  readonly errors: readonly AgentCatalogError[];

  constructor(message: string, errors: readonly AgentCatalogError[] = []) {
    super(message);
    this.name = 'AgentCatalogInvalidError';
    this.errors = errors;
  }
}

const noNul = (value: string) => !value.includes('\0');

const duration = (min: number, max: number) =>
  z
    .string()
    .refine(isDuration, 'expected a duration such as "30s", "2m" or "1h"')
    .refine((text) => !isDuration(text) || parseDuration(text) >= min, {
      message: `must be at least ${min / 1000}s`,
    })
    .refine((text) => !isDuration(text) || parseDuration(text) <= max, {
      message: `must be at most ${max / 60_000}m`,
    });

const argvSchema = z
  .array(
    z
      .string()
      .min(1, 'an argument must not be empty')
      .refine(noNul, 'an argument must not contain NUL'),
  )
  .min(1, 'argv needs at least the program')
  .refine(
    (argv) => argv[0] === undefined || argv[0].startsWith('/') || !argv[0].includes('/'),
    'argv[0] must be an absolute path or a bare program name (no relative paths)',
  );

const commandSchema = z.strictObject({
  description: z.string().optional(),
  argv: argvSchema,
  timeout: duration(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
  killGrace: duration(0, 5 * 60_000).optional(),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
      z.string().refine(noNul, 'a value must not contain NUL'),
    )
    .optional(),
});

const hostCommandNames: readonly string[] = AGENT_HOST_COMMANDS;

export const agentCatalogSchema = z.strictObject({
  version: z.literal(1, 'version must be 1'),
  outputTailBytes: z.int().min(256).max(65_536).optional(),
  commands: z
    .record(
      z
        .string()
        .refine(
          (name) => hostCommandNames.includes(name),
          `not a host command; expected one of ${AGENT_HOST_COMMANDS.join(', ')}`,
        ),
      commandSchema,
    )
    .refine((commands) => Object.keys(commands).length > 0, 'the catalog names no command'),
});

export type AgentCatalogFile = z.infer<typeof agentCatalogSchema>;

function position(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  target: 'value' | 'key' = 'value',
) {
  if (target === 'key' && path.length > 0) {
    // The key itself (unknown or refused keys), found in its parent mapping.
    const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    const name = String(path.at(-1));
    const pair = isMap(parent)
      ? parent.items.find((item) => isScalar(item.key) && String(item.key.value) === name)
      : undefined;
    if (pair && isNode(pair.key) && pair.key.range) {
      const { line, col } = lineCounter.linePos(pair.key.range[0]);
      return { line, column: col };
    }
  }
  // The deepest node on the path that exists: the offending value, or the mapping lacking a key.
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = lineCounter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) =>
      typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

/**
 * Parses and validates an agent catalog.
 *
 * - One YAML document: `version: 1`, optional `outputTailBytes` (256–65536, default 4096), and
 *   `commands`, a mapping from a host command name (`AGENT_HOST_COMMANDS`) to its entry.
 * - An entry has `argv` (a non-empty list of non-empty strings; argv[0] absolute or a bare
 *   name, never relative), `timeout` (1s–1h), optional `killGrace` (0–5m, default 5s),
 *   optional `env` (names `[A-Za-z_][A-Za-z0-9_]*`), optional `description`. No other keys.
 * - There is no shell and no substitution: argv is passed to the kernel as written.
 * - Every error carries the line and column of the offending key or value.
 */
export function loadAgentCatalog(text: string, source: string): LoadAgentCatalogResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { line, column: col, path: '', message: error.message.split('\n')[0] ?? '' };
      }),
    };
  }
  const parsed = agentCatalogSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((issue): AgentCatalogError[] => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      return keys.map((key) => {
        const path = key === undefined ? issue.path : [...issue.path, key];
        const onKey = key !== undefined || issue.code === 'invalid_key';
        const at = position(doc, lineCounter, path, onKey ? 'key' : 'value');
        const message =
          key !== undefined
            ? `unknown key "${key}"`
            : issue.code === 'invalid_key'
              ? (issue.issues[0]?.message ?? issue.message)
              : issue.message;
        return { ...at, path: formatPath(path), message };
      });
    });
    errors.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, errors };
  }
  const file = parsed.data;
  const commands = new Map<HostCommand, CatalogCommand>();
  for (const [name, entry] of Object.entries(file.commands)) {
    const [program, ...args] = entry.argv;
    if (program === undefined) continue; // unreachable: argv has at least one item
    commands.set(name as HostCommand, {
      name: name as HostCommand,
      argv: [program, ...args],
      timeoutMs: parseDuration(entry.timeout),
      killGraceMs:
        entry.killGrace === undefined ? DEFAULT_KILL_GRACE_MS : parseDuration(entry.killGrace),
      env: { PATH: DEFAULT_COMMAND_PATH, ...entry.env },
      description: entry.description,
    });
  }
  return {
    ok: true,
    catalog: {
      source,
      outputTailBytes: file.outputTailBytes ?? DEFAULT_OUTPUT_TAIL_BYTES,
      commands,
    },
  };
}

/** The catalog entry named `name`, if the catalog has one (any string may be asked). */
export function catalogCommand(catalog: AgentCatalog, name: string): CatalogCommand | undefined {
  return hostCommandNames.includes(name) ? catalog.commands.get(name as HostCommand) : undefined;
}

/** `file:line:column: path: message`, one line per error. */
export function formatAgentCatalogErrors(
  source: string,
  errors: readonly AgentCatalogError[],
): string {
  return errors
    .map((e) => `${source}:${e.line}:${e.column}: ${e.path ? `${e.path}: ` : ''}${e.message}`)
    .join('\n');
}

/** Reads and validates a catalog file; throws `AgentCatalogInvalidError` with every problem. */
export async function loadAgentCatalogFile(path: string): Promise<AgentCatalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AgentCatalogInvalidError(
      `cannot read agent catalog ${path}: ${(error as Error).message}`,
    );
  }
  const result = loadAgentCatalog(text, path);
  if (!result.ok) {
    throw new AgentCatalogInvalidError(
      `invalid agent catalog:\n${formatAgentCatalogErrors(path, result.errors)}`,
      result.errors,
    );
  }
  return result.catalog;
}
