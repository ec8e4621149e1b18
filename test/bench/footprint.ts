// `npm run bench:footprint`: the resident memory of each nodeheal role, idle, side by side in one
// run on the same machine: bare Node, `nodeheal agent` run several ways, `serve`, `worker` and
// `all`, the last three against the stack's real Redis and kube-apiserver (empty cluster, default
// remedies). Each role is its own process, waited for until its /healthz answers, then left
// alone for FOOTPRINT_SECONDS (default 30). Printed per process, from /proc/<pid>/status: VmRSS
// when ready, VmHWM (the peak resident size since exec, start-up included) and VmRSS settled (at
// the end of the idle time), split into RssAnon (private to the process) and RssFile (pages of
// files, mostly the node binary: shared by every process that maps the same file, e.g. the agent
// and a worker on one node started from the same image layer).
//
// The ways compared (docs/benchmarks.md, "Footprint"):
// - "TypeScript": `node src/main.ts <role>`, Node's type stripping (what the image ran before);
//   "warm compile cache": the agent again with NODE_COMPILE_CACHE filled by a first run, so Node
//   reuses the stripped sources instead of loading its stripper.
// - "JS": src/ compiled by tsc as the image's build stage does (footprint-agent.ts), plain or
//   with one V8 flag each (--max-semi-space-size=1, --jitless, --lite-mode); and with lite mode
//   and self-fence on (the watchdog, src/safety and zod are loaded only then).
// - "image": the agent in localhost/nodeheal:dev (built when stale) as the chart runs it, through
//   the image's entrypoint; and with node called directly, without the entrypoint's flag.
// Then what the flags cost: each agent runs FOOTPRINT_COMMANDS (default 100) catalogued commands
// one after another through the real client, and the table gives its CPU time to start and per
// command, the client's wall time per command, and VmHWM after them.
//
// FOOTPRINT_MAIN=<dir>/src/main.ts measures another checkout's TypeScript rows (e.g. `git archive`
// of an older commit, with node_modules linked); FOOTPRINT_IMAGE=0 leaves the image rows out.
// Hold the stack lock:
//   flock /tmp/nodeheal-stack.lock npm run bench:footprint
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../stack/paths.ts';
import { ensureImage, podmanAvailable } from '../stack/podman.ts';
import { freePort } from '../stack/ports.ts';
import { startStack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import {
  answers,
  commandCost,
  compileToJs,
  containerNodeCheck,
  cpuMs,
  startContainerAgent,
  statusKiB,
  type WorkCost,
} from './footprint-agent.ts';

const main = process.env.FOOTPRINT_MAIN ?? join(repoRoot, 'src', 'main.ts');
const idleSeconds = Number(process.env.FOOTPRINT_SECONDS ?? '30');
const commands = Number(process.env.FOOTPRINT_COMMANDS ?? '100');
const withImage = process.env.FOOTPRINT_IMAGE !== '0' && podmanAvailable();
const secret = 'f00d'.repeat(16);

interface Role {
  name: string;
  pid: () => number;
  /** Throws when the process is gone (its figures would be wrong). */
  alive: () => void;
  /** /healthz URLs that must answer 200 before the process counts as started. */
  health: string[];
  /** The agent's signed port, for the command runs; undefined for other roles. */
  agentUrl?: string;
  stop: () => Promise<void>;
}

interface Figures {
  readyKiB: number;
  peakKiB: number;
  settledKiB: number;
  anonKiB: number;
  fileKiB: number;
  cost?: WorkCost;
  peakAfterWorkKiB?: number;
}

function spawnRole(
  name: string,
  args: string[],
  env: Record<string, string>,
  health: string[],
): Role {
  let output = '';
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, NODEHEAL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return {
    name,
    health,
    pid: () => child.pid!,
    alive: () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${output}`);
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function ready(role: Role): Promise<void> {
  for (const url of role.health) await answers(`${role.name} healthy`, url, role.alive);
}

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-footprint-'));
const stack = await startStack({ mode: 'attached', parts: ['redis', 'kube'] });
const roles: Role[] = [];
try {
  const compiled = compileToJs(dir);
  if (withImage) await ensureImage();
  const secretFile = join(dir, 'agent-secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const catalog = join(dir, 'agent-catalog.yaml');
  writeFileSync(
    catalog,
    'version: 1\ncommands:\n  restart-kubelet:\n    argv: [/bin/sh, -c, "true"]\n    timeout: 10s\n',
  );
  const fenceCatalog = join(dir, 'agent-catalog-fence.yaml');
  writeFileSync(
    fenceCatalog,
    'version: 1\ncommands:\n  restart-kubelet:\n    argv: [/bin/sh, -c, "true"]\n    timeout: 10s\n' +
      '  reboot:\n    argv: [/bin/sh, -c, "true"]\n    timeout: 10s\n',
  );
  const agent = async (name: string, args: string[], extra: Record<string, string> = {}) => {
    const [listen, health] = [await freePort(), await freePort()];
    const env = {
      NODEHEAL_AGENT_LISTEN: `127.0.0.1:${listen}`,
      NODEHEAL_AGENT_HEALTH_LISTEN: `127.0.0.1:${health}`,
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_CATALOG: catalog,
      NODEHEAL_AGENT_NODE: 'node-a',
      ...extra,
    };
    const role = spawnRole(name, [...args, 'agent'], env, [`http://127.0.0.1:${health}/healthz`]);
    return { ...role, agentUrl: `http://127.0.0.1:${listen}` };
  };
  const imageAgent = async (name: string, entrypoint?: string[]) => {
    const [listen, health] = [await freePort(), await freePort()];
    const container = startContainerAgent(
      `nodeheal-footprint-${process.pid}-${roles.length}`,
      { secret: secretFile, catalog },
      { listen, health },
      entrypoint,
    );
    let pid: number | undefined;
    // Once its PID is known, a container is alive while that process is (no podman call).
    const exists = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    return {
      name,
      health: [`http://127.0.0.1:${health}/healthz`],
      agentUrl: `http://127.0.0.1:${listen}`,
      pid: () => (pid ??= container.pid()),
      alive: () => {
        if (pid === undefined ? !container.running() : !exists(pid))
          throw new Error(`${name} stopped: ${container.logs()}`);
      },
      stop: () => Promise.resolve(container.stop()),
    } satisfies Role;
  };
  // Fill the compile cache with one agent run before anything is measured.
  const cache = { NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
  const filler = await agent('agent (cache filler)', [main], cache);
  await ready(filler);
  await filler.stop();

  const common = {
    KUBECONFIG: stack.info.kubeconfig ?? '',
    NODEHEAL_REDIS_URL: stack.info.redisUrl ?? '',
    NODEHEAL_RULES: join(repoRoot, 'alert-rules', 'remedies.yaml'),
    NODEHEAL_WEBHOOK_TOKEN: 'footprint-token',
  };
  const server = async (name: string, script: string, role: 'serve' | 'worker' | 'all') => {
    const [serve, worker] = [await freePort(), await freePort()];
    const health = [];
    if (role !== 'worker') health.push(`http://127.0.0.1:${serve}/healthz`);
    if (role !== 'serve') health.push(`http://127.0.0.1:${worker}/healthz`);
    const env = {
      ...common,
      NODEHEAL_LISTEN: `127.0.0.1:${serve}`,
      NODEHEAL_WORKER_LISTEN: `127.0.0.1:${worker}`,
    };
    return spawnRole(name, [script, role], env, health);
  };
  roles.push(spawnRole('bare node (-e)', ['-e', 'setInterval(() => {}, 1 << 30)'], {}, []));
  roles.push(await agent('agent, TypeScript', [main]));
  roles.push(await agent('agent, TS, warm compile cache', [main], cache));
  roles.push(await agent('agent, JS', [compiled]));
  roles.push(await agent('agent, JS, semi-space 1 MB', ['--max-semi-space-size=1', compiled]));
  roles.push(await agent('agent, JS, --jitless', ['--jitless', compiled]));
  roles.push(await agent('agent, JS, --lite-mode', ['--lite-mode', compiled]));
  // Self-fence on loads what the default agent leaves out (its watchdog, src/safety and zod).
  // Its probe target is the stack's Redis: any port that accepts a TCP connection is contact,
  // so the watchdog is armed and never reboots (the catalog's reboot is `true` anyway).
  const redisPort = new URL(stack.info.redisUrl ?? 'redis://127.0.0.1:6379').port;
  roles.push(
    await agent('agent, JS, lite, self-fence on', ['--lite-mode', compiled], {
      NODEHEAL_AGENT_CATALOG: fenceCatalog,
      NODEHEAL_AGENT_SELF_FENCE: 'true',
      NODEHEAL_AGENT_APISERVER: `127.0.0.1:${redisPort}`,
    }),
  );
  if (withImage) {
    roles.push(await imageAgent('agent, image (entrypoint)'));
    roles.push(await imageAgent('agent, image, no flag', ['node', '/app/dist/main.js']));
  }
  for (const role of ['serve', 'worker', 'all'] as const) {
    roles.push(await server(`${role}, TypeScript`, main, role));
    roles.push(await server(`${role}, JS`, compiled, role));
  }

  const figures = new Map<Role, Figures>();
  const startCpu = new Map<Role, number>();
  for (const role of roles) {
    await ready(role);
    const pid = role.pid();
    if (role.name.includes('image')) containerNodeCheck(pid);
    startCpu.set(role, cpuMs(pid));
    const readyKiB = statusKiB(pid, 'VmRSS');
    figures.set(role, { readyKiB, peakKiB: 0, settledKiB: 0, anonKiB: 0, fileKiB: 0 });
  }
  // Idle: nothing is asked of them; a process that dies meanwhile spoils the figures.
  for (let elapsed = 0; elapsed < idleSeconds * 1000; elapsed += 500) {
    await sleep(500);
    for (const role of roles) role.alive();
  }
  for (const role of roles) {
    const [f, pid] = [figures.get(role)!, role.pid()];
    f.peakKiB = statusKiB(pid, 'VmHWM');
    f.settledKiB = statusKiB(pid, 'VmRSS');
    f.anonKiB = statusKiB(pid, 'RssAnon');
    f.fileKiB = statusKiB(pid, 'RssFile');
  }
  // Work, one agent at a time, after the idle figures are taken.
  for (const role of roles) {
    if (role.agentUrl === undefined) continue;
    const [f, pid] = [figures.get(role)!, role.pid()];
    const work = await commandCost(pid, role.agentUrl, secret, commands);
    f.cost = { startCpuMs: startCpu.get(role)!, ...work };
    f.peakAfterWorkKiB = statusKiB(pid, 'VmHWM');
  }

  const mib = (kib: number) => (kib / 1024).toFixed(1).padStart(8);
  const head = (title: string, columns: string[]) =>
    console.log(`${title.padEnd(32)} ${columns.map((c) => c.padStart(8)).join(' ')}`);
  console.log(`node ${process.version}, ${main}, idle ${idleSeconds} s after ready`);
  head('MiB resident', ['ready', 'peak', 'settled', 'anon', 'file']);
  for (const role of roles) {
    const f = figures.get(role)!;
    const values = [f.readyKiB, f.peakKiB, f.settledKiB, f.anonKiB, f.fileKiB].map(mib);
    console.log(`${role.name.padEnd(32)} ${values.join(' ')}`);
  }
  console.log(`\n${commands} commands per agent, one after another (CPU of the agent process)`);
  head('agent', ['startCPU', 'CPU/cmd', 'wall/cmd', 'peak']);
  for (const role of roles) {
    const f = figures.get(role)!;
    if (f.cost === undefined || f.peakAfterWorkKiB === undefined) continue;
    const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`.padStart(8);
    const c = f.cost;
    const values = [ms(c.startCpuMs), ms(c.perCommandCpuMs), ms(c.perCommandWallMs)];
    console.log(`${role.name.padEnd(32)} ${values.join(' ')} ${mib(f.peakAfterWorkKiB)}`);
  }
} finally {
  await Promise.all(roles.map((role) => role.stop()));
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
