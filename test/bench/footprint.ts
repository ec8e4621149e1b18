// `npm run bench:footprint`: the resident memory of each nodeheal role, idle, side by side in one
// run on the same machine: bare Node, `nodeheal agent`, `serve`, `worker` and `all`, the last
// three against the stack's real Redis and kube-apiserver (empty cluster, default remedies). Each
// role is started as its own process (`node src/main.ts <role>`, as the image's wrapper does),
// waited for until its /healthz answers, then left alone for FOOTPRINT_SECONDS (default 30).
// Printed per process, from /proc/<pid>/status: VmRSS when ready, VmHWM (the peak resident size
// since exec, start-up included) and VmRSS settled (at the end of the idle time), split into
// RssAnon (private to the process) and RssFile (pages of files, mostly the node binary: shared
// by every process that maps the same file, e.g. the agent and a worker on one node started from
// the same image layer).
//
// One more row, "agent, warm compile cache": the agent run a second time with NODE_COMPILE_CACHE
// pointing at a directory its first run filled, so Node reuses the type-stripped sources
// instead of loading its TypeScript stripper: what type stripping costs the agent
// (docs/benchmarks.md, "Footprint").
//
// FOOTPRINT_MAIN=<dir>/src/main.ts measures another checkout (e.g. `git archive` of an older
// commit, with node_modules linked), for before/after figures. Hold the stack lock:
//   flock /tmp/nodeheal-stack.lock npm run bench:footprint
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { startStack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';

const main = process.env.FOOTPRINT_MAIN ?? join(repoRoot, 'src', 'main.ts');
const idleSeconds = Number(process.env.FOOTPRINT_SECONDS ?? '30');

interface Role {
  name: string;
  child: ChildProcess;
  /** /healthz URLs that must answer 200 before the process counts as started. */
  health: string[];
  output: () => string;
}

interface Figures {
  readyKiB: number;
  peakKiB: number;
  settledKiB: number;
  anonKiB: number;
  fileKiB: number;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib);
}

function spawnRole(name: string, args: string[], env: Record<string, string>, health: string[]) {
  let output = '';
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, NODEHEAL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { name, child, health, output: () => output } satisfies Role;
}

async function ready(role: Role): Promise<void> {
  await eventually(
    `${role.name} healthy`,
    async () => {
      if (role.child.exitCode !== null)
        throw new Error(`${role.name} exited ${role.child.exitCode}: ${role.output()}`);
      for (const url of role.health) {
        const res = await fetch(url).catch(() => undefined);
        if (!res?.ok) return undefined;
      }
      return true;
    },
    60_000,
    100,
  );
}

async function stop(role: Role): Promise<void> {
  if (role.child.exitCode !== null || role.child.signalCode !== null) return;
  const exited = new Promise((r) => role.child.once('exit', r));
  role.child.kill('SIGTERM');
  await exited;
}

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-footprint-'));
const stack = await startStack({ mode: 'attached', parts: ['redis', 'kube'] });
const roles: Role[] = [];
try {
  const secretFile = join(dir, 'agent-secret');
  writeFileSync(secretFile, `${'f00d'.repeat(16)}\n`, { mode: 0o600 });
  const catalog = join(dir, 'agent-catalog.yaml');
  writeFileSync(
    catalog,
    'version: 1\ncommands:\n  restart-kubelet:\n    argv: [/bin/true]\n    timeout: 10s\n',
  );
  const agent = async (name: string, extra: Record<string, string> = {}) => {
    const health = await freePort();
    return spawnRole(
      name,
      [main, 'agent'],
      {
        NODEHEAL_AGENT_LISTEN: `127.0.0.1:${await freePort()}`,
        NODEHEAL_AGENT_HEALTH_LISTEN: `127.0.0.1:${health}`,
        NODEHEAL_AGENT_SECRET_FILE: secretFile,
        NODEHEAL_AGENT_CATALOG: catalog,
        NODEHEAL_AGENT_NODE: 'node-a',
        ...extra,
      },
      [`http://127.0.0.1:${health}/healthz`],
    );
  };
  // Fill the compile cache with one agent run before anything is measured.
  const cache = { NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
  const filler = await agent('agent (cache filler)', cache);
  await ready(filler);
  await stop(filler);

  const common = {
    KUBECONFIG: stack.info.kubeconfig ?? '',
    NODEHEAL_REDIS_URL: stack.info.redisUrl ?? '',
    NODEHEAL_RULES: join(repoRoot, 'alert-rules', 'remedies.yaml'),
    NODEHEAL_WEBHOOK_TOKEN: 'footprint-token',
  };
  const server = async (name: string, role: 'serve' | 'worker' | 'all') => {
    const [serve, worker] = [await freePort(), await freePort()];
    const health = [];
    if (role !== 'worker') health.push(`http://127.0.0.1:${serve}/healthz`);
    if (role !== 'serve') health.push(`http://127.0.0.1:${worker}/healthz`);
    const env = {
      ...common,
      NODEHEAL_LISTEN: `127.0.0.1:${serve}`,
      NODEHEAL_WORKER_LISTEN: `127.0.0.1:${worker}`,
    };
    return spawnRole(name, [main, role], env, health);
  };
  roles.push(spawnRole('bare node (-e)', ['-e', 'setInterval(() => {}, 1 << 30)'], {}, []));
  roles.push(await agent('agent'));
  roles.push(await agent('agent, warm compile cache', cache));
  roles.push(await server('serve', 'serve'));
  roles.push(await server('worker', 'worker'));
  roles.push(await server('all', 'all'));

  const figures = new Map<Role, Figures>();
  for (const role of roles) {
    await ready(role);
    const pid = role.child.pid!;
    const readyKiB = statusKiB(pid, 'VmRSS');
    figures.set(role, { readyKiB, peakKiB: 0, settledKiB: 0, anonKiB: 0, fileKiB: 0 });
  }
  // Idle: nothing is asked of them; a process that dies meanwhile spoils the figures.
  for (let elapsed = 0; elapsed < idleSeconds * 1000; elapsed += 500) {
    await sleep(500);
    for (const role of roles) {
      if (role.child.exitCode !== null) throw new Error(`${role.name} exited: ${role.output()}`);
    }
  }
  for (const role of roles) {
    const [f, pid] = [figures.get(role)!, role.child.pid!];
    f.peakKiB = statusKiB(pid, 'VmHWM');
    f.settledKiB = statusKiB(pid, 'VmRSS');
    f.anonKiB = statusKiB(pid, 'RssAnon');
    f.fileKiB = statusKiB(pid, 'RssFile');
  }

  const mib = (kib: number) => (kib / 1024).toFixed(1).padStart(8);
  const columns = ['ready', 'peak', 'settled', 'anon', 'file'].map((c) => c.padStart(8));
  console.log(`node ${process.version}, ${main}, idle ${idleSeconds} s after ready`);
  console.log(`${'MiB resident'.padEnd(28)} ${columns.join(' ')}`);
  for (const role of roles) {
    const f = figures.get(role)!;
    const values = [f.readyKiB, f.peakKiB, f.settledKiB, f.anonKiB, f.fileKiB].map(mib);
    console.log(`${role.name.padEnd(28)} ${values.join(' ')}`);
  }
} finally {
  await Promise.all(roles.map(stop));
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
