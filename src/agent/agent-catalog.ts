// The node agent's command catalog: which host command name runs which argv, for how long.
// The agent runs nothing else. Loaded from YAML, checked (catalog-check.ts), errors with line
// numbers.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isNode, isScalar, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { HostCommand } from '../actions/index.ts';
import { checkCatalog, type AgentCatalogFile } from './catalog-check.ts';
import { catalogDurationMs } from './catalog-duration.ts';
import { AGENT_HOST_COMMANDS } from './host-command-names.ts';

export type { AgentCatalogFile };

/** A command that ran longer than its timeout gets SIGTERM, then SIGKILL this much later. */
export const DEFAULT_KILL_GRACE_MS = 5_000;
/** How much of a command's output (stdout and stderr interleaved, the end of it) is reported. */
export const DEFAULT_OUTPUT_TAIL_BYTES = 4096;
/** PATH given to commands whose catalog entry does not set one. */
export const DEFAULT_COMMAND_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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

const hostCommandNames: readonly string[] = AGENT_HOST_COMMANDS;

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
  const checked = checkCatalog(doc.toJS(), hostCommandNames);
  if (!checked.ok) {
    const errors = checked.issues.map((issue): AgentCatalogError => {
      const at = position(doc, lineCounter, issue.path, issue.onKey ? 'key' : 'value');
      return { ...at, path: formatPath(issue.path), message: issue.message };
    });
    errors.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, errors };
  }
  const file = checked.file;
  const commands = new Map<HostCommand, CatalogCommand>();
  for (const [name, entry] of Object.entries(file.commands)) {
    const [program, ...args] = entry.argv;
    if (program === undefined) continue; // unreachable: argv has at least one item
    commands.set(name as HostCommand, {
      name: name as HostCommand,
      argv: [program, ...args],
      // Checked above: both parse.
      timeoutMs: catalogDurationMs(entry.timeout) ?? 0,
      killGraceMs:
        entry.killGrace === undefined
          ? DEFAULT_KILL_GRACE_MS
          : (catalogDurationMs(entry.killGrace) ?? DEFAULT_KILL_GRACE_MS),
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
