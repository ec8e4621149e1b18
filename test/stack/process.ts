// Child processes of the stack: one process group each, a log file each, and a guaranteed
// teardown. Attached stacks (tests, `stack up --foreground`) also set the kernel's parent-death
// signal so that even a SIGKILLed parent leaves no orphans behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, existsSync } from 'node:fs';

export type StackMode = 'attached' | 'daemon';

/** Environment marker that check-orphans.ts looks for in /proc/<pid>/environ. */
export const MARKER_ENV = 'NODEHEAL_STACK_RUN';
export const MODE_ENV = 'NODEHEAL_STACK_MODE';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: Record<string, string>;
}

export class ManagedProcess {
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly spec: ProcessSpec;
  private readonly child: ChildProcess;

  constructor(spec: ProcessSpec, runDir: string, mode: StackMode) {
    this.spec = spec;
    const logFd = openSync(spec.logFile, 'a');
    // setpriv --pdeathsig: the kernel kills the child when the process that spawned it dies,
    // whatever the way it dies (Node cannot set PR_SET_PDEATHSIG itself).
    const [command, args] =
      mode === 'attached'
        ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', spec.command, ...spec.args]]
        : [spec.command, spec.args];
    this.child = spawn(command, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, [MARKER_ENV]: runDir, [MODE_ENV]: mode },
      stdio: ['ignore', logFd, logFd],
      detached: true,
    });
    closeSync(logFd);
    this.child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
    });
    this.child.on('error', (error) => {
      this.exitCode = -1;
      this.spawnError = error.message;
    });
    if (mode === 'daemon') this.child.unref();
  }

  spawnError: string | undefined;

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.spec.name} did not start`);
    return this.child.pid;
  }

  /** Why the process is no longer running, or undefined while it runs. */
  deathReason(): string | undefined {
    if (this.spawnError) return `could not start ${this.spec.command}: ${this.spawnError}`;
    if (this.exitCode === null && this.exitSignal === null) return undefined;
    return `exited (${this.exitSignal ?? `code ${this.exitCode}`}); log tail:\n${logTail(this.spec.logFile)}`;
  }

  async stop(graceMs = 5000): Promise<void> {
    await stopPid(this.pid, graceMs);
  }
}

/** Sends SIGTERM to the process group, then SIGKILL after graceMs, and waits until it is gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}

/** Synchronous last resort for exit handlers, where nothing asynchronous runs any more. */
export function killGroupNow(pid: number): void {
  signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** True while the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const statPath = `/proc/${pid}/stat`;
  if (!existsSync(statPath)) return true;
  try {
    const stat = readFileSync(statPath, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
