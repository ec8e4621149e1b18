// Helpers of `npm run bench:footprint` (footprint.ts) for the ways of running the node agent that
// it compares: the sources compiled to JavaScript as the image's build stage does, the agent in
// the real image as the chart runs it, and what a V8 flag costs the agent in CPU time.
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { agentHostCommands } from '../../src/agent/index.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { IMAGE, podman } from '../stack/podman.ts';

/** One size field of /proc/<pid>/status, in KiB. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib);
}

/** User plus system CPU time the process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces) start after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / ticksPerSecond;
}

/**
 * src/ compiled by tsc as the Containerfile's build stage does it (tsconfig.build.json, no source
 * maps) into `dir`/dist, with package.json beside it (ES module type) and node_modules linked.
 * Returns the path of the compiled main.js.
 */
export function compileToJs(dir: string): string {
  const root = join(dir, 'compiled');
  mkdirSync(root, { recursive: true });
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  const args = ['-p', join(repoRoot, 'tsconfig.build.json'), '--sourceMap', 'false'];
  execFileSync(tsc, [...args, '--outDir', join(root, 'dist')], { stdio: 'inherit' });
  copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  return join(root, 'dist', 'main.js');
}

export interface ContainerAgent {
  name: string;
  /** The agent's node process on the host (the container's PID 1 once the wrapper exec'd). */
  pid: () => number;
  running: () => boolean;
  logs: () => string;
  stop: () => void;
}

/**
 * `nodeheal agent` from the image, as the chart's DaemonSet runs it: the image's entrypoint with
 * `agent`, UID 65532, read-only root with /tmp the one writable place, host network. The secret
 * and catalog are mounted read-only and handed to 65532 as the chart's fsGroup would.
 * `entrypoint` replaces the image's (e.g. node called directly, without the wrapper's flags).
 */
export function startContainerAgent(
  name: string,
  files: { secret: string; catalog: string },
  ports: { listen: number; health: number },
  entrypoint?: string[],
): ContainerAgent {
  for (const file of [files.secret, files.catalog]) chownSync(file, 65532, 65532);
  podman([
    'run',
    '--detach',
    '--name',
    name,
    '--network',
    'host',
    '--read-only',
    '--read-only-tmpfs=false',
    '--tmpfs',
    '/tmp:rw,size=16m',
    '--volume',
    `${files.secret}:/etc/nodeheal/agent-secret:ro`,
    '--volume',
    `${files.catalog}:/etc/nodeheal/catalog.yaml:ro`,
    '--env',
    `NODEHEAL_AGENT_LISTEN=127.0.0.1:${ports.listen}`,
    '--env',
    `NODEHEAL_AGENT_HEALTH_LISTEN=127.0.0.1:${ports.health}`,
    '--env',
    'NODEHEAL_AGENT_SECRET_FILE=/etc/nodeheal/agent-secret',
    '--env',
    'NODEHEAL_AGENT_CATALOG=/etc/nodeheal/catalog.yaml',
    '--env',
    'NODEHEAL_AGENT_NODE=node-a',
    '--env',
    'NODEHEAL_LOG_LEVEL=warn',
    ...(entrypoint ? ['--entrypoint', JSON.stringify(entrypoint)] : []),
    IMAGE,
    'agent',
  ]);
  const inspect = (format: string) => podman(['inspect', '--format', format, name]).trim();
  return {
    name,
    pid: () => Number(inspect('{{.State.Pid}}')),
    running: () => inspect('{{.State.Running}}') === 'true',
    logs: () => podman(['logs', name]),
    stop: () => void podman(['rm', '--force', '--time', '10', '--ignore', name]),
  };
}

/** The node binary the container runs is its own process: its /proc/<pid>/exe says which. */
export function containerNodeCheck(pid: number): string {
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  if (!cmdline[0]?.endsWith('node')) throw new Error(`container PID 1 is ${cmdline.join(' ')}`);
  return cmdline.join(' ');
}

export interface WorkCost {
  /** CPU time the agent used from exec until its /healthz answered. */
  startCpuMs: number;
  /** CPU time per command run (challenge, signed run request, spawn of `sh -c true`, answer). */
  perCommandCpuMs: number;
  /** Wall time per command run, seen by the client. */
  perCommandWallMs: number;
}

/**
 * Runs `count` catalogued commands one after another through the real client (the worker's
 * path: challenge, signed request, signed answer) and measures the agent's CPU time for them.
 */
export async function commandCost(
  pid: number,
  url: string,
  secret: string,
  count: number,
): Promise<{ perCommandCpuMs: number; perCommandWallMs: number }> {
  const client = agentHostCommands({
    secret: () => secret,
    endpointFor: () => Promise.resolve(url),
    timeoutMs: 20_000,
  });
  const [cpu0, wall0] = [cpuMs(pid), performance.now()];
  for (let i = 0; i < count; i++) {
    const result = await client.run('node-a', 'restart-kubelet', `footprint-${pid}-${i}`);
    if (result.outcome !== 'ok') throw new Error(`command ${i}: ${JSON.stringify(result)}`);
  }
  return {
    perCommandCpuMs: (cpuMs(pid) - cpu0) / count,
    perCommandWallMs: (performance.now() - wall0) / count,
  };
}

/** Waits until a URL answers 200, failing early when `alive` says the process is gone. */
export async function answers(what: string, url: string, alive: () => void): Promise<void> {
  await eventually(
    what,
    async () => {
      alive();
      return (await fetch(url).catch(() => undefined))?.ok ? true : undefined;
    },
    60_000,
    100,
  );
}
