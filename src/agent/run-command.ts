// Runs one catalog command: argv straight to the kernel (no shell), its own process group so a
// timeout kills the whole tree, a bounded tail of its output, and how long it took.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { CatalogCommand } from './agent-catalog.ts';

/** Exit code reported for a command killed on timeout (as coreutils `timeout` does). */
export const TIMEOUT_EXIT_CODE = 124;
/** Exit code reported when the program cannot be executed (permission). */
export const NOT_EXECUTABLE_EXIT_CODE = 126;
/** Exit code reported when the program does not exist. */
export const NOT_FOUND_EXIT_CODE = 127;

export interface CommandRun {
  exitCode: number;
  /** The last bytes of stdout and stderr as they arrived, decoded as UTF-8. */
  output: string;
  durationMs: number;
  timedOut: boolean;
}

/** Keeps the last `limit` bytes of a stream of chunks. */
export class OutputTail {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#chunks.length > 1 && this.#size - (this.#chunks[0]?.length ?? 0) >= this.#limit) {
      this.#size -= this.#chunks.shift()?.length ?? 0;
      this.#dropped = true;
    }
  }

  /**
   * The tail as text: at most `limit` bytes; when the start was cut, without the broken
   * character and the partial line the cut left (unless that is all there is).
   */
  text(): string {
    let buffer = Buffer.concat(this.#chunks);
    let cut = this.#dropped;
    if (buffer.length > this.#limit) {
      buffer = buffer.subarray(buffer.length - this.#limit);
      cut = true;
    }
    // Skip UTF-8 continuation bytes left over from a character that was cut in half.
    let start = 0;
    if (cut) while (start < buffer.length && ((buffer[start] ?? 0) & 0xc0) === 0x80) start += 1;
    const text = buffer.subarray(start).toString('utf8');
    // And the partial line the cut left, when a whole line follows.
    const newline = cut ? text.indexOf('\n') : -1;
    return newline >= 0 && newline < text.length - 1 ? text.slice(newline + 1) : text;
  }
}

function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Runs a catalog command and resolves when it has ended (never rejects).
 *
 * - argv is executed directly (no shell); the environment is exactly the entry's `env`
 *   (PATH included), stdin is empty, the working directory is `/`.
 * - The command leads its own process group. At `timeoutMs` the group gets SIGTERM, and
 *   SIGKILL `killGraceMs` later if anything is still alive; the result is then exit code 124
 *   with `timedOut`, and the output ends with a line saying so.
 * - A command killed by a signal reports 128 + the signal number; a program that does not exist
 *   127, one that cannot be executed 126, with the reason as output.
 * - Output is stdout and stderr interleaved; only the last `outputTailBytes` are kept.
 * - Resolves once the process has exited and its output pipes closed, or at most a second
 *   after it exited (a grandchild that escaped the group may hold a pipe open).
 */
export function runCommand(
  command: CatalogCommand,
  outputTailBytes: number,
  now: () => number = () => performance.now(),
): Promise<CommandRun> {
  const started = now();
  const tail = new OutputTail(outputTailBytes);
  const [program, ...args] = command.argv;
  return new Promise((resolveRun) => {
    let settled = false;
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (exitCode: number, note?: string) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (note) tail.push(Buffer.from(`${note}\n`));
      resolveRun({
        exitCode,
        output: tail.text(),
        durationMs: Math.round(now() - started),
        timedOut,
      });
    };

    const child = spawn(program, args, {
      cwd: '/',
      env: { ...command.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
      windowsHide: true,
    });
    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));

    child.once('error', (error: NodeJS.ErrnoException) => {
      // Only spawn failures end the run here; errors after a successful spawn come with 'exit'.
      if (child.pid !== undefined) return;
      const code = error.code === 'ENOENT' ? NOT_FOUND_EXIT_CODE : NOT_EXECUTABLE_EXIT_CODE;
      finish(code, `[nodeheal-agent] cannot run ${program}: ${error.message}`);
    });

    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, 'SIGTERM');
        timers.push(setTimeout(() => killGroup(child.pid, 'SIGKILL'), command.killGraceMs));
      }, command.timeoutMs),
    );

    let exitCode: number | undefined;
    const done = () => {
      const note = timedOut
        ? `[nodeheal-agent] timed out after ${command.timeoutMs} ms: process group terminated`
        : undefined;
      finish(timedOut ? TIMEOUT_EXIT_CODE : (exitCode ?? 1), note);
    };
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? signalExitCode(signal) : 1);
      // The leader is gone: after a timeout make sure nothing of its group survives.
      if (timedOut) killGroup(child.pid, 'SIGKILL');
      const lingering = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done();
      }, 1000);
      timers.push(lingering);
    });
    child.once('close', (code, signal) => {
      exitCode ??= code ?? (signal ? signalExitCode(signal) : 1);
      done();
    });
  });
}
