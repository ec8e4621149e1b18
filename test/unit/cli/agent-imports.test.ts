// `nodeheal agent` runs on every node, so what its process loads is multiplied by the fleet
// (docs/benchmarks.md, "Footprint"). This starts the real agent command through the CLI in a
// child process that records every module it loads, and fails if the agent path reaches a
// library that only serve and worker need, or node:http's lazy undici (loaded when node:http is
// taken with an ESM `import`, see src/agent/start-agent.ts). It measures nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../stack/paths.ts';

/** Packages of serve and worker (Kubernetes, queue, HTTP framework, metrics): never the agent's. */
const SERVER_ONLY_PACKAGES = [
  '@kubernetes/client-node',
  'bullmq',
  'ioredis',
  'express',
  'prom-client',
];
const UNDICI_BUILTIN = 'NativeModule internal/deps/undici/undici';

interface AgentLoads {
  /** Exit code the CLI set while starting the agent (undefined: started). */
  exitCode: number | string | undefined;
  /** URLs of every module the ESM loader loaded (src files and packages). */
  modules: string[];
  /** Node's own modules, from process.moduleLoadList. */
  builtins: string[];
}

let dir: string;
let loads: AgentLoads;

/**
 * Runs `nodeheal agent` through src/main.ts (the image's entry, compiled) until it listens, then
 * writes what the process loaded to a file and exits.
 */
function startAgentAndRecordLoads(): AgentLoads {
  const secretFile = join(dir, 'secret');
  const catalog = join(dir, 'catalog.yaml');
  const out = join(dir, 'loads.json');
  writeFileSync(secretFile, `${'f00d'.repeat(16)}\n`, { mode: 0o600 });
  writeFileSync(
    catalog,
    'version: 1\ncommands:\n  restart-kubelet:\n    argv: [/bin/true]\n    timeout: 10s\n',
  );
  const main = pathToFileURL(join(repoRoot, 'src', 'main.ts')).href;
  const args = ['--listen', '127.0.0.1:0', '--health-listen', 'off'];
  args.push('--secret-file', secretFile, '--catalog', catalog, '--node', 'node-a');
  const script = `
    import { registerHooks } from 'node:module';
    import { writeFileSync } from 'node:fs';
    const modules = [];
    registerHooks({ load(url, context, next) { modules.push(url); return next(url, context); } });
    process.argv = ['node', 'nodeheal', 'agent', ...${JSON.stringify(args)}];
    await import(${JSON.stringify(main)});
    writeFileSync(${JSON.stringify(out)}, JSON.stringify({
      exitCode: process.exitCode, modules, builtins: process.moduleLoadList,
    }));
    process.exit(0);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NODEHEAL_LOG_LEVEL: 'warn' },
  });
  if (child.status !== 0) throw new Error(`agent child failed: ${child.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8')) as AgentLoads;
}

describe('nodeheal agent loads only what the agent needs', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodeheal-agent-imports-'));
    loads = startAgentAndRecordLoads();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('started the agent for real (so the list below is the agent path)', () => {
    expect(loads.exitCode).toBeUndefined();
    expect(loads.modules.some((url) => url.endsWith('/src/agent/start-agent.ts'))).toBe(true);
  });

  it.each(SERVER_ONLY_PACKAGES)('does not load %s', (name) => {
    const from = loads.modules.filter((url) => url.includes(`/node_modules/${name}/`));
    expect(from).toEqual([]);
  });

  // zod is about 3 MiB resident in the agent (docs/benchmarks.md, "Footprint"): its config,
  // catalog, result files and the client's answers are checked by hand. src/safety and src/rules
  // load zod, so the default agent (self-fence off) loads neither.
  it('does not load zod', () => {
    expect(loads.modules.filter((url) => url.includes('/node_modules/zod/'))).toEqual([]);
  });

  // About 1 MiB: src/main.ts parses the agent's options with node:util when they are plainly
  // valid (src/cli/agent-argv.ts); help and errors still come from commander.
  it('does not load commander', () => {
    expect(loads.modules.filter((url) => url.includes('/node_modules/commander/'))).toEqual([]);
  });

  it.each(['safety', 'rules'])('does not load src/%s (self-fence off)', (folder) => {
    expect(loads.modules.filter((url) => url.includes(`/src/${folder}/`))).toEqual([]);
  });

  it("does not load Node's bundled undici", () => {
    expect(loads.builtins).not.toContain(UNDICI_BUILTIN);
  });
});
