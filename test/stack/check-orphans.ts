// Runs after the test suite: fails when any process started by an attached (test) stack is still
// alive, then kills it so that one failure does not leak into the next run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { removeRunnerContainers } from './pods/pod-runner.ts';
import { MARKER_ENV, MODE_ENV } from './process.ts';

export interface StackProcess {
  pid: number;
  command: string;
  runDir: string;
}

/** Processes whose environment carries the marker of an attached stack. */
export function attachedStackProcesses(): StackProcess[] {
  const found: StackProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let environ: string;
    let command: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // gone, or not ours to read
    }
    const vars = environ.split('\0');
    if (!vars.includes(`${MODE_ENV}=attached`)) continue;
    const runDir = vars.find((v) => v.startsWith(`${MARKER_ENV}=`))?.slice(MARKER_ENV.length + 1);
    found.push({ pid, command, runDir: runDir ?? '?' });
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Containers the pod runner started (chart test) are not our children: podman keeps them.
  const containers = existsSync('/usr/bin/podman') ? removeRunnerContainers() : [];
  if (containers.length > 0) {
    console.error(
      `check-orphans: pod-runner containers outlived the test run: ${containers.join(', ')}`,
    );
    process.exitCode = 1;
  }
  const left = attachedStackProcesses();
  if (left.length === 0 && containers.length === 0) {
    console.log('check-orphans: no process started by the test stack is left running');
  } else if (left.length === 0) {
    process.exit(1);
  } else {
    console.error(`check-orphans: ${left.length} stack process(es) outlived the test run:`);
    for (const p of left) {
      console.error(`  pid ${p.pid} (${p.runDir}): ${p.command}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(1);
  }
}
