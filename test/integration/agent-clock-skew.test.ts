// Issue 10 item 7: the sync-clock remedy must reach the node whose clock is wrong. A real agent
// process (`node src/main.ts agent`) runs with its wall clock an hour ahead (libfaketime through
// LD_PRELOAD; its monotonic clock left alone, as a wrong wall clock leaves it); the worker's
// client, with the right time, asks it to run the catalogued sync-clock through a recording
// proxy, and the recorded exchange, replayed verbatim, is refused and runs nothing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentHostCommands } from '../../src/agent/index.ts';
import { ensureFaketime } from '../stack/debian.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';

const SECRET = '5eed'.repeat(16);
const NODE = 'node-skewed';
const HOUR_MS = 3_600_000;
const fixtures = join(repoRoot, 'test', 'agent-fixtures');
const main = join(repoRoot, 'src', 'main.ts');

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
}

let dir: string;
let state: string;
let skewEnv: Record<string, string>;
let child: ChildProcess;
let agentUrl: string;
let output = '';
let proxy: Server;
let proxyUrl: string;
const recorded: Recorded[] = [];

function logLines(): Record<string, unknown>[] {
  return output
    .split('\n')
    .slice(0, -1) // after the last newline: nothing, or a line still coming through the pipe
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function runs(): string[] {
  const file = join(state, 'runs.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** The nodeheal headers of a request, as a client sent them. */
function nodehealHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-nodeheal-') && typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** Sends a recorded request again, byte for byte the same headers, to the agent itself. */
async function replay(request: Recorded): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${agentUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
  });
  return { status: response.status, body: await response.json() };
}

const worker = () =>
  agentHostCommands({
    secret: () => SECRET,
    endpointFor: () => Promise.resolve(proxyUrl),
    timeoutMs: 20_000,
  });

beforeAll(async () => {
  const libfaketime = ensureFaketime();
  skewEnv = {
    LD_PRELOAD: libfaketime,
    FAKETIME: '+1h',
    // A wrong wall clock leaves CLOCK_MONOTONIC alone; so does this test.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
  dir = mkdtempSync(join(tmpdir(), 'nodeheal-agent-skew-'));
  state = join(dir, 'state');
  spawnSync('mkdir', ['-p', state]);
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const catalogFile = join(dir, 'catalog.yaml');
  writeFileSync(
    catalogFile,
    [
      'version: 1',
      'commands:',
      '  sync-clock:',
      '    description: Records that it ran (a stand-in for chronyc makestep).',
      `    argv: [/bin/sh, '${join(fixtures, 'record-run.sh')}', '${state}', sync-clock]`,
      '    timeout: 10s',
      '',
    ].join('\n'),
  );

  const port = await freePort();
  const healthPort = await freePort();
  agentUrl = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [main, 'agent'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...skewEnv,
      NODEHEAL_AGENT_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_AGENT_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_CATALOG: catalogFile,
      NODEHEAL_AGENT_NODE: NODE,
      NODEHEAL_AGENT_STATE_DIR: join(dir, 'agent-state'),
      NODEHEAL_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    'the skewed agent health endpoint',
    async () => {
      if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${output}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).ok;
    },
    30_000,
    100,
  );

  // Between worker and agent: records every request (what someone on the node network sees).
  proxy = createServer((req, res) => {
    req.resume();
    const request: Recorded = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: nodehealHeaders(req),
    };
    recorded.push(request);
    fetch(`${agentUrl}${request.path}`, { method: request.method, headers: request.headers })
      .then(async (response) => {
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          if (name === 'content-type' || name.startsWith('x-nodeheal-')) headers[name] = value;
        });
        const body = await response.text();
        res.writeHead(response.status, headers);
        res.end(body);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const address = proxy.address();
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  proxy?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an agent whose clock is an hour off', () => {
  it('really runs an hour ahead: Date.now() under libfaketime, and the agent log', async () => {
    const probe = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], {
      env: { ...process.env, ...skewEnv },
      encoding: 'utf8',
    });
    expect(probe.status).toBe(0);
    expect(Math.abs(Number(probe.stdout) - Date.now() - HOUR_MS)).toBeLessThan(60_000);
    // The agent answers its health port before its log line has necessarily come through the
    // pipe: wait for the line (never logged still fails, at the timeout).
    const listening = await eventually(
      "the agent's listening line",
      () => logLines().find((line) => line.msg === 'nodeheal agent listening'),
      10_000,
    );
    expect(Math.abs(Number(listening.time) - Date.now() - HOUR_MS)).toBeLessThan(60_000);
  });

  it("runs the worker's signed sync-clock, and logs the clock difference", async () => {
    const result = await worker().run(NODE, 'sync-clock', 'heal-skewed-clock');
    expect(result).toMatchObject({ outcome: 'ok', exitCode: 0 });
    if (result.outcome === 'ok') expect(result.output).toContain('ran sync-clock\n');
    expect(runs()).toEqual(['sync-clock']);
    expect(recorded.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/challenge',
      'POST /v1/run',
    ]);
    // Logged as the request is served; the line can reach the pipe after the answer.
    const skew = await eventually(
      'the clock difference in the agent log',
      () => logLines().find((line) => line.healId === 'heal-skewed-clock' && 'clockSkewMs' in line),
      10_000,
    );
    expect(skew.level).toBe(40);
    expect(Math.abs(Number(skew.clockSkewMs) - HOUR_MS)).toBeLessThan(60_000);
  });

  it('refuses the recorded exchange replayed verbatim, and runs nothing more', async () => {
    expect(recorded).toHaveLength(2);
    const [ask, run] = recorded as [Recorded, Recorded];
    // The run request alone, again: its challenge was used.
    expect(await replay(run)).toEqual({
      status: 401,
      body: { error: 'unauthorized', detail: 'unknown or already used challenge' },
    });
    // The whole exchange again: the replayed challenge request gets a new challenge, which the
    // captured run request does not carry.
    expect((await replay(ask)).status).toBe(200);
    expect((await replay(run)).status).toBe(401);
    expect(runs()).toEqual(['sync-clock']);
  });

  it('answers a retry of the same heal from its record: sync-clock does not run twice', async () => {
    const again = await worker().run(NODE, 'sync-clock', 'heal-skewed-clock');
    expect(again).toMatchObject({ outcome: 'ok', exitCode: 0 });
    expect(runs()).toEqual(['sync-clock']);
  });
});
