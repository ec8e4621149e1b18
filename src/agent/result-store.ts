// Results of commands the agent has run, by (heal id, command), so that a retried request gets
// the recorded result instead of running the command twice. Kept in memory and, when a state
// directory is configured (a hostPath), on disk too, so that a retry after an agent restart or a
// reboot does not run the command again either.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** Exit code of a command whose run was cut short by the agent itself stopping. */
export const INTERRUPTED_EXIT_CODE = -1;

export interface StoredResult {
  healId: string;
  command: string;
  /** ISO time the command started. */
  startedAt: string;
  state: 'running' | 'done';
  exitCode: number;
  output: string;
  durationMs: number;
  timedOut: boolean;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * A record read back from disk, or undefined when it is not one (a torn or foreign file). Checked
 * by hand: the agent loads no schema library (docs/benchmarks.md, "Footprint").
 */
function storedResult(value: unknown): StoredResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<keyof StoredResult, unknown>;
  const valid =
    typeof r.healId === 'string' &&
    typeof r.command === 'string' &&
    typeof r.startedAt === 'string' &&
    ISO_TIME.test(r.startedAt) &&
    !Number.isNaN(Date.parse(r.startedAt)) &&
    (r.state === 'running' || r.state === 'done') &&
    Number.isSafeInteger(r.exitCode) &&
    typeof r.output === 'string' &&
    typeof r.durationMs === 'number' &&
    r.durationMs >= 0 &&
    typeof r.timedOut === 'boolean';
  if (!valid) return undefined;
  // Only the known fields: anything else in the file is not carried into answers.
  const { healId, command, startedAt, state, exitCode, output, durationMs, timedOut } =
    r as StoredResult;
  return { healId, command, startedAt, state, exitCode, output, durationMs, timedOut };
}

export interface ResultStoreOptions {
  /** Directory for the on-disk copy; none keeps results in memory only. */
  dir?: string | undefined;
  /** Results kept (oldest dropped first); default 1000. */
  maxEntries?: number;
  /** Results older than this are dropped; default 24 h (heal ids are not reused that fast). */
  retentionMs?: number;
  now?: () => number;
}

const key = (healId: string, command: string) => `${healId}\n${command}`;

/**
 * The idempotency record of the agent.
 *
 * - `begin` records a command as running before it starts (on disk: written and fsynced), and
 *   `finish` records its result; `get` answers either.
 * - Opening a directory loads its records; a record still `running` there means the agent
 *   stopped while the command ran (a crash, or the reboot it was asked for). It becomes a result
 *   with exit code -1 and an output that says so, and is never run again for that heal id.
 * - Files are named by a hash of (heal id, command), never by the request's text.
 * - At most `maxEntries` results, none older than `retentionMs` (by start time).
 */
export class ResultStore {
  readonly #dir: string | undefined;
  readonly #max: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #results = new Map<string, StoredResult>();

  constructor(options: ResultStoreOptions = {}) {
    this.#dir = options.dir;
    this.#max = options.maxEntries ?? 1000;
    this.#retentionMs = options.retentionMs ?? 24 * 3_600_000;
    this.#now = options.now ?? Date.now;
    if (this.#dir !== undefined) this.#load(this.#dir);
  }

  get(healId: string, command: string): StoredResult | undefined {
    const result = this.#results.get(key(healId, command));
    if (result && this.#expired(result)) {
      this.#drop(key(healId, command));
      return undefined;
    }
    return result;
  }

  begin(healId: string, command: string, startedAt: number): StoredResult {
    const record: StoredResult = {
      healId,
      command,
      startedAt: new Date(startedAt).toISOString(),
      state: 'running',
      exitCode: INTERRUPTED_EXIT_CODE,
      output: '',
      durationMs: 0,
      timedOut: false,
    };
    this.#put(record);
    return record;
  }

  finish(
    healId: string,
    command: string,
    run: { exitCode: number; output: string; durationMs: number; timedOut: boolean },
  ): StoredResult {
    const started = this.#results.get(key(healId, command))?.startedAt;
    const record: StoredResult = {
      healId,
      command,
      startedAt: started ?? new Date(this.#now() - run.durationMs).toISOString(),
      state: 'done',
      ...run,
    };
    this.#put(record);
    return record;
  }

  get size(): number {
    return this.#results.size;
  }

  #expired(result: StoredResult): boolean {
    return this.#now() - Date.parse(result.startedAt) > this.#retentionMs;
  }

  #file(k: string): string | undefined {
    if (this.#dir === undefined) return undefined;
    return join(this.#dir, `${createHash('sha256').update(k).digest('hex')}.json`);
  }

  #put(record: StoredResult): void {
    const k = key(record.healId, record.command);
    this.#results.delete(k);
    this.#results.set(k, record);
    const file = this.#file(k);
    if (file !== undefined) {
      const temporary = `${file}.tmp`;
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(record));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, file);
    }
    while (this.#results.size > this.#max) {
      const oldest = this.#results.keys().next().value;
      if (oldest === undefined) break;
      this.#drop(oldest);
    }
  }

  #drop(k: string): void {
    this.#results.delete(k);
    const file = this.#file(k);
    if (file !== undefined) rmSync(file, { force: true });
  }

  #load(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const loaded: StoredResult[] = [];
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!/^[0-9a-f]{64}\.json$/.test(name)) {
        if (name.endsWith('.json.tmp')) rmSync(path, { force: true });
        continue;
      }
      let record: StoredResult | undefined;
      try {
        record = storedResult(JSON.parse(readFileSync(path, 'utf8')));
      } catch {
        record = undefined; // not JSON
      }
      if (record === undefined) {
        rmSync(path, { force: true });
        continue;
      }
      if (record.state === 'running') {
        record = {
          ...record,
          state: 'done',
          exitCode: INTERRUPTED_EXIT_CODE,
          output: `[nodeheal-agent] interrupted: the agent stopped while this command ran (started ${record.startedAt}); not run again`,
        };
      }
      loaded.push(record);
    }
    loaded.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    for (const record of loaded) {
      if (this.#expired(record)) {
        const file = this.#file(key(record.healId, record.command));
        if (file !== undefined) rmSync(file, { force: true });
      } else {
        this.#put(record);
      }
    }
  }
}
