// The agent catalog's shape, checked by hand (no schema library in the node agent: about 3 MiB
// resident on every node, docs/benchmarks.md "Footprint"). It reports every problem with the path
// of the offending key or value, in the words zod used for the same checks before, so that
// agent-catalog.ts can point each one at its line.
import { catalogDurationMs } from './catalog-duration.ts';

/** One problem: where (keys and indexes from the document's root), what, on the key or value. */
export interface CatalogIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** The key itself is wrong (unknown, or not an allowed name), not its value. */
  readonly onKey: boolean;
}

/** A command entry as written in the file, once checked. */
export interface CatalogEntry {
  readonly description?: string | undefined;
  readonly argv: readonly string[];
  readonly timeout: string;
  readonly killGrace?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** The catalog file as written, once checked. */
export interface AgentCatalogFile {
  readonly version: 1;
  readonly outputTailBytes?: number | undefined;
  readonly commands: Readonly<Record<string, CatalogEntry>>;
}

type Path = readonly (string | number)[];
type Mapping = Record<string, unknown>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MIN_TIMEOUT_MS = 1_000;
const MAX_TIMEOUT_MS = 60 * 60_000;
const MAX_KILL_GRACE_MS = 5 * 60_000;

/** zod's name for what was found: `array`, `null`, `number`... */
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

class Checker {
  readonly issues: CatalogIssue[] = [];

  fail(path: Path, message: string, onKey = false): void {
    this.issues.push({ path, message, onKey });
  }

  /** True when `value` is of the type; else notes `Invalid input: expected …`. */
  expect(path: Path, value: unknown, expected: 'string' | 'array' | 'object' | 'record'): boolean {
    const found = kind(value);
    const ok =
      expected === 'array'
        ? found === 'array'
        : expected === 'string'
          ? found === 'string'
          : found === 'object';
    if (!ok) this.fail(path, `Invalid input: expected ${expected}, received ${found}`);
    return ok;
  }

  /** Notes every key of `value` outside `known` (after the checks of the known ones). */
  unknownKeys(path: Path, value: Mapping, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.fail([...path, key], `unknown key "${key}"`, true);
    }
  }

  duration(path: Path, value: unknown, minMs: number, maxMs: number): void {
    if (!this.expect(path, value, 'string')) return;
    const ms = catalogDurationMs(value as string);
    if (ms === undefined) this.fail(path, 'expected a duration such as "30s", "2m" or "1h"');
    else if (ms < minMs) this.fail(path, `must be at least ${minMs / 1000}s`);
    else if (ms > maxMs) this.fail(path, `must be at most ${maxMs / 60_000}m`);
  }

  argv(path: Path, value: unknown): void {
    if (!this.expect(path, value, 'array')) return;
    const argv = value as unknown[];
    const before = this.issues.length;
    argv.forEach((arg, i) => {
      if (!this.expect([...path, i], arg, 'string')) return;
      if (arg === '') this.fail([...path, i], 'an argument must not be empty');
      else if ((arg as string).includes('\0'))
        this.fail([...path, i], 'an argument must not contain NUL');
    });
    if (argv.length === 0) this.fail(path, 'argv needs at least the program');
    if (this.issues.length > before) return;
    const program = argv[0] as string;
    if (!program.startsWith('/') && program.includes('/'))
      this.fail(
        path,
        'argv[0] must be an absolute path or a bare program name (no relative paths)',
      );
  }

  env(path: Path, value: unknown): void {
    if (!this.expect(path, value, 'record')) return;
    for (const [name, text] of Object.entries(value as Mapping)) {
      if (!ENV_NAME.test(name)) this.fail([...path, name], 'an environment variable name', true);
      else if (this.expect([...path, name], text, 'string') && (text as string).includes('\0'))
        this.fail([...path, name], 'a value must not contain NUL');
    }
  }

  entry(path: Path, value: unknown): void {
    if (!this.expect(path, value, 'object')) return;
    const entry = value as Mapping;
    if (entry.description !== undefined)
      this.expect([...path, 'description'], entry.description, 'string');
    this.argv([...path, 'argv'], entry.argv);
    this.duration([...path, 'timeout'], entry.timeout, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
    if (entry.killGrace !== undefined)
      this.duration([...path, 'killGrace'], entry.killGrace, 0, MAX_KILL_GRACE_MS);
    if (entry.env !== undefined) this.env([...path, 'env'], entry.env);
    this.unknownKeys(path, entry, ['description', 'argv', 'timeout', 'killGrace', 'env']);
  }
}

/**
 * Checks a parsed catalog document.
 *
 * - The root: `version` (must be 1), optional `outputTailBytes` (an integer 256–65536),
 *   `commands`; no other key.
 * - `commands`: a mapping from a name in `commandNames` to an entry; at least one.
 * - An entry: `argv` (a non-empty list of non-empty strings without NUL; argv[0] absolute or a
 *   bare name, never relative), `timeout` (1s–60m), optional `killGrace` (0–5m), optional `env`
 *   (names `[A-Za-z_][A-Za-z0-9_]*`, values strings without NUL), optional `description`; no
 *   other key.
 */
export function checkCatalog(
  value: unknown,
  commandNames: readonly string[],
): { ok: true; file: AgentCatalogFile } | { ok: false; issues: CatalogIssue[] } {
  const check = new Checker();
  if (!check.expect([], value, 'object')) return { ok: false, issues: check.issues };
  const root = value as Mapping;
  if (root.version !== 1) check.fail(['version'], 'version must be 1');
  const tail = root.outputTailBytes;
  if (tail !== undefined) {
    if (typeof tail !== 'number')
      check.fail(['outputTailBytes'], `Invalid input: expected number, received ${kind(tail)}`);
    else if (!Number.isSafeInteger(tail))
      check.fail(['outputTailBytes'], 'Invalid input: expected int, received number');
    else if (tail < 256) check.fail(['outputTailBytes'], 'Too small: expected number to be >=256');
    else if (tail > 65_536)
      check.fail(['outputTailBytes'], 'Too big: expected number to be <=65536');
  }
  if (check.expect(['commands'], root.commands, 'record')) {
    const commands = root.commands as Mapping;
    for (const [name, entry] of Object.entries(commands)) {
      if (commandNames.includes(name)) check.entry(['commands', name], entry);
      else
        check.fail(
          ['commands', name],
          `not a host command; expected one of ${commandNames.join(', ')}`,
          true,
        );
    }
    if (Object.keys(commands).length === 0)
      check.fail(['commands'], 'the catalog names no command');
  }
  check.unknownKeys([], root, ['version', 'outputTailBytes', 'commands']);
  if (check.issues.length > 0) return { ok: false, issues: check.issues };
  return { ok: true, file: root as unknown as AgentCatalogFile };
}
