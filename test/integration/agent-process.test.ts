// The real node agent (`node src/main.ts agent` as a child process) with a harmless catalog from
// test/agent-fixtures/, driven through agentHostCommands and through hand-signed requests:
// results, timeouts, authentication, challenges and replay, timestamps as information only, one
// command at a time, idempotency, node binding.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostCommandResult, HostCommands } from '../../src/actions/interfaces.ts';
import {
  AGENT_HEADERS,
  CHALLENGE_PATH,
  RUN_PATH,
  agentHostCommands,
  newNonce,
  signChallengeRequest,
  signRequest,
  verifyResponse,
  type SignedFields,
} from '../../src/agent/index.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';

const SECRET = 'f00d'.repeat(16);
const NEW_SECRET = 'beef'.repeat(16);
const WRONG_SECRET = 'dead'.repeat(16);
const NODE = 'node-a';
const fixtures = join(repoRoot, 'test', 'agent-fixtures');
const main = join(repoRoot, 'src', 'main.ts');

interface Agent {
  child: ChildProcess;
  url: string;
  healthUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

let dir: string;
let state: string;
let secretFile: string;
let catalogFile: string;
let agent: Agent;

/** Starts `nodeheal agent` for NODE and waits for its loopback health endpoint. */
async function startAgent(extraEnv: Record<string, string> = {}): Promise<Agent> {
  const port = await freePort();
  const healthPort = await freePort();
  let output = '';
  const child = spawn(process.execPath, [main, 'agent'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODEHEAL_AGENT_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_AGENT_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_CATALOG: catalogFile,
      NODEHEAL_AGENT_NODE: NODE,
      NODEHEAL_AGENT_STATE_DIR: join(dir, 'agent-state'),
      NODEHEAL_LOG_LEVEL: 'debug',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const healthUrl = `http://127.0.0.1:${healthPort}/healthz`;
  await eventually(
    'the agent health endpoint',
    async () => {
      if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${output}`);
      return (await fetch(healthUrl)).ok;
    },
    30_000,
    100,
  );
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    healthUrl,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function client(secret: string, options: { timeoutMs?: number; url?: string } = {}): HostCommands {
  return agentHostCommands({
    secret: () => secret,
    // Every node name resolves to agent A: that is how a request for node B reaches A.
    endpointFor: () => Promise.resolve(options.url ?? agent.url),
    timeoutMs: options.timeoutMs ?? 20_000,
  });
}

/** The agent's JSON log lines so far. */
function logLines(): Record<string, unknown>[] {
  return agent
    .output()
    .split('\n')
    .slice(0, -1) // after the last newline: nothing, or a line still coming through the pipe
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Lines of the marker file the fixture commands append to. */
function runs(): string[] {
  const file = join(state, 'runs.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Asks the agent for a challenge (signed with SECRET), checking the answer's signature. */
async function fetchChallenge(): Promise<string> {
  const ask = { method: 'GET', path: CHALLENGE_PATH, node: NODE, nonce: newNonce() };
  const response = await fetch(`${agent.url}${CHALLENGE_PATH}`, {
    headers: {
      [AGENT_HEADERS.node]: ask.node,
      [AGENT_HEADERS.nonce]: ask.nonce,
      [AGENT_HEADERS.signature]: signChallengeRequest(SECRET, ask),
    },
  });
  const text = await response.text();
  expect(response.status).toBe(200);
  expect(
    verifyResponse(SECRET, ask.nonce, 200, text, response.headers.get(AGENT_HEADERS.signature)),
  ).toBe(true);
  return (JSON.parse(text) as { challenge: string }).challenge;
}

/** A run request signed with `secret` over a fresh challenge (unless `overrides` sets one). */
async function signedRequest(
  overrides: Partial<SignedFields> = {},
  secret = SECRET,
): Promise<{ fields: SignedFields; headers: Record<string, string> }> {
  const fields: SignedFields = {
    method: 'POST',
    path: RUN_PATH,
    node: NODE,
    command: 'restart-kubelet',
    healId: `raw-${newNonce().slice(0, 8)}`,
    timestamp: Date.now(),
    challenge: overrides.challenge ?? (await fetchChallenge()),
    ...overrides,
  };
  return {
    fields,
    headers: {
      [AGENT_HEADERS.node]: fields.node,
      [AGENT_HEADERS.command]: fields.command,
      [AGENT_HEADERS.healId]: fields.healId,
      [AGENT_HEADERS.timestamp]: String(fields.timestamp),
      [AGENT_HEADERS.challenge]: fields.challenge,
      [AGENT_HEADERS.signature]: signRequest(secret, fields),
    },
  };
}

async function send(
  headers: Record<string, string>,
  method = 'POST',
  path = RUN_PATH,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${agent.url}${path}`, { method, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie waiting for a parent that does not reap is dead for our purposes.
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

const detail = (result: HostCommandResult) =>
  result.outcome === 'unreachable' || result.outcome === 'unknown-command' ? result.detail : '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodeheal-agent-'));
  state = join(dir, 'state');
  spawnSync('mkdir', ['-p', state]);
  secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  catalogFile = join(dir, 'catalog.yaml');
  writeFileSync(
    catalogFile,
    readFileSync(join(fixtures, 'catalog.yaml'), 'utf8')
      .replaceAll('@FIXTURES@', fixtures)
      .replaceAll('@STATE@', state),
  );
  agent = await startAgent();
});

afterAll(async () => {
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nodeheal agent (real process)', () => {
  it('opens no unauthenticated port: only loopback /healthz answers without a signature', async () => {
    const health = await fetch(agent.healthUrl);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    for (const [method, path] of [
      ['GET', CHALLENGE_PATH],
      ['GET', '/healthz'],
      ['GET', '/metrics'],
      ['POST', RUN_PATH],
      ['GET', '/'],
    ] as const) {
      const response = await fetch(`${agent.url}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(await response.json()).toEqual({ error: 'unauthorized' });
    }
    expect(runs()).toEqual([]);
  });

  it('runs a catalog command and reports ok with its output and duration', async () => {
    const result = await client(SECRET).run(NODE, 'restart-kubelet', 'heal-ok');
    expect(result).toMatchObject({ outcome: 'ok', exitCode: 0 });
    if (result.outcome !== 'ok') return;
    expect(result.output).toContain('ran restart-kubelet\n');
    expect(result.output).toContain('ran restart-kubelet (stderr)\n');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThan(5000);
    expect(runs()).toEqual(['restart-kubelet']);
  });

  it('answers a retried heal id and command from its record: the command does not run twice', async () => {
    const before = runs().length;
    const first = await client(SECRET).run(NODE, 'restart-kubelet', 'heal-retry');
    const again = await client(SECRET).run(NODE, 'restart-kubelet', 'heal-retry');
    expect(again).toEqual(first);
    expect(runs().length).toBe(before + 1);
    // Another heal id is another run.
    await client(SECRET).run(NODE, 'restart-kubelet', 'heal-retry-2');
    expect(runs().length).toBe(before + 2);
  });

  it('reports a failing command with its exit code and the bounded tail of its output', async () => {
    const result = await client(SECRET).run(NODE, 'rotate-logs', 'heal-fail');
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 3 });
    if (result.outcome !== 'failed') return;
    expect(result.output.endsWith('fatal: simulated failure\n')).toBe(true);
    expect(result.output).toContain('line 200 of a long failing output');
    expect(result.output).not.toContain('line 1 of a long failing output');
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(1024);
  });

  it('kills a command that outlives its timeout, with its whole process group', async () => {
    const result = await client(SECRET).run(NODE, 'clean-images', 'heal-timeout');
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 124 });
    if (result.outcome !== 'failed') return;
    expect(result.output).toContain('hanging');
    expect(result.output).toContain('timed out after 1000 ms');
    // 1 s timeout, SIGTERM ignored, SIGKILL after the 1 s grace.
    expect(result.durationMs).toBeGreaterThanOrEqual(1900);
    expect(result.durationMs).toBeLessThan(6000);
    const shell = Number(readFileSync(join(state, 'hang.pid'), 'utf8'));
    const sleeper = Number(readFileSync(join(state, 'hang-child.pid'), 'utf8'));
    await eventually(
      'the timed-out process group to be gone',
      () => (!isAlive(shell) && !isAlive(sleeper) ? true : undefined),
      15_000,
    );
  });

  it('answers unknown-command for a host command its catalog lacks, and runs nothing', async () => {
    const before = runs().length;
    for (const command of ['reboot', 'sync-clock'] as const) {
      const result = await client(SECRET).run(NODE, command, 'heal-unknown');
      expect(result.outcome).toBe('unknown-command');
      expect(detail(result)).toBe(`${command} is not in the agent catalog of ${NODE}`);
    }
    // Not even a host command name: same answer, never an execution.
    const raw = await send((await signedRequest({ command: 'rm-rf' })).headers);
    expect(raw).toEqual({
      status: 404,
      body: { outcome: 'unknown-command', detail: `rm-rf is not in the agent catalog of ${NODE}` },
    });
    expect(runs().length).toBe(before);
  });

  it('refuses a request signed with the wrong secret with 401 and runs nothing', async () => {
    const before = runs().length;
    const result = await client(WRONG_SECRET).run(NODE, 'restart-kubelet', 'heal-wrong-secret');
    expect(result.outcome).toBe('unreachable');
    expect(detail(result)).toContain('401');
    const raw = await send(
      (await signedRequest({ healId: 'heal-wrong-secret' }, WRONG_SECRET)).headers,
    );
    expect(raw).toEqual({ status: 401, body: { error: 'unauthorized' } });
    expect(runs().length).toBe(before);
  });

  it.each([
    ['changed command', { command: 'rotate-logs' }],
    ['changed heal id', { healId: 'heal-other' }],
    ['changed node', { node: 'node-b' }],
    ['changed challenge', { challenge: newNonce() }],
    ['changed timestamp', { timestamp: 1 }],
  ])('refuses a signed request with a %s (401) and runs nothing', async (_label, change) => {
    const before = runs().length;
    const { fields, headers } = await signedRequest({ healId: 'heal-tampered' });
    const tampered = { ...fields, ...change };
    const result = await send({
      ...headers,
      [AGENT_HEADERS.node]: tampered.node,
      [AGENT_HEADERS.command]: tampered.command,
      [AGENT_HEADERS.healId]: tampered.healId,
      [AGENT_HEADERS.timestamp]: String(tampered.timestamp),
      [AGENT_HEADERS.challenge]: tampered.challenge,
    });
    expect(result).toEqual({ status: 401, body: { error: 'unauthorized' } });
    expect(runs().length).toBe(before);
  });

  it.each([
    ['2 minutes old', -120_000],
    ['a day in the future', 86_400_000],
  ])(
    'runs a correctly signed request %s: the timestamp is information, logged, never refused',
    async (_label, offset) => {
      const before = runs().length;
      const healId = `heal-ts-${offset > 0 ? 'future' : 'past'}`;
      const { headers } = await signedRequest({ timestamp: Date.now() + offset, healId });
      const result = await send(headers);
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ outcome: 'ok', recorded: false });
      expect(runs().length).toBe(before + 1);
      await eventually('the clock difference in the agent log', () =>
        logLines().find((line) => line.healId === healId && 'clockSkewMs' in line),
      );
      const line = logLines().find((l) => l.healId === healId && 'clockSkewMs' in l);
      expect(Math.abs(Number(line?.clockSkewMs) + offset)).toBeLessThan(10_000);
      expect(line?.level).toBe(40);
    },
  );

  it('refuses a replayed request (same challenge) with 401 and runs nothing more', async () => {
    const before = runs().length;
    const { headers } = await signedRequest({ healId: 'heal-replay' });
    const first = await send(headers);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ outcome: 'ok', recorded: false });
    const replay = await send(headers);
    expect(replay).toEqual({
      status: 401,
      body: { error: 'unauthorized', detail: 'unknown or already used challenge' },
    });
    expect(runs().length).toBe(before + 1);
  });

  it('refuses a run request over a challenge it never issued (401) and runs nothing', async () => {
    const before = runs().length;
    const result = await send((await signedRequest({ challenge: newNonce() })).headers);
    expect(result).toEqual({
      status: 401,
      body: { error: 'unauthorized', detail: 'unknown or already used challenge' },
    });
    expect(runs().length).toBe(before);
  });

  it('answers 404 for other paths and 405 for other methods, once authenticated', async () => {
    expect(
      (await send((await signedRequest({ path: '/v1/other' })).headers, 'POST', '/v1/other'))
        .status,
    ).toBe(404);
    expect((await send((await signedRequest({ method: 'GET' })).headers, 'GET')).status).toBe(405);
  });

  it('runs one command at a time: a second command meanwhile gets 409', async () => {
    const before = runs().length;
    const slow = client(SECRET).run(NODE, 'restart-container-runtime', 'heal-slow');
    await eventually('the slow command to start', () =>
      runs().length === before + 1 ? true : undefined,
    );
    const other = await client(SECRET).run(NODE, 'restart-kubelet', 'heal-concurrent');
    expect(other.outcome).toBe('unreachable');
    expect(detail(other)).toContain('busy running another command');
    expect(detail(other)).toContain('restart-container-runtime (heal heal-slow) is running');
    const raw = await send((await signedRequest({ healId: 'heal-concurrent' })).headers);
    expect(raw.status).toBe(409);
    expect(raw.body.error).toBe('busy');
    expect(await slow).toMatchObject({ outcome: 'ok', exitCode: 0 });
    expect(runs().slice(before)).toEqual(['restart-container-runtime']);
  });

  it('joins a retry of the running (heal id, command) instead of refusing or running it again', async () => {
    const before = runs().length;
    const first = client(SECRET).run(NODE, 'restart-container-runtime', 'heal-join');
    await eventually('the command to start', () =>
      runs().length === before + 1 ? true : undefined,
    );
    const retry = client(SECRET).run(NODE, 'restart-container-runtime', 'heal-join');
    const [a, b] = await Promise.all([first, retry]);
    expect(a).toMatchObject({ outcome: 'ok' });
    expect(b).toEqual(a);
    expect(runs().length).toBe(before + 1);
  });

  it('a client that gave up waiting gets the recorded result on retry, without a second run', async () => {
    const before = runs().length;
    const impatient = await client(SECRET, { timeoutMs: 300 }).run(
      NODE,
      'clean-images',
      'heal-late',
    );
    expect(impatient.outcome).toBe('unreachable');
    expect(detail(impatient)).toContain('no answer within 300 ms');
    const retry = await client(SECRET).run(NODE, 'clean-images', 'heal-late');
    expect(retry).toMatchObject({ outcome: 'failed', exitCode: 124 });
    expect(runs().slice(before)).toEqual(['clean-images']);
  });

  it('refuses a correctly signed request for another node (403) and runs nothing', async () => {
    const before = runs().length;
    const result = await client(SECRET).run('node-b', 'restart-kubelet', 'heal-node-b');
    expect(result.outcome).toBe('unreachable');
    expect(detail(result)).toContain('another node');
    expect(detail(result)).toContain('this agent runs on node-a, not node-b');
    const raw = await send((await signedRequest({ node: 'node-b' })).headers);
    expect(raw.status).toBe(403);
    expect(runs().length).toBe(before);
  });

  it('does not believe an answer that is not signed by an agent holding the secret', async () => {
    const impostor = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ outcome: 'ok', exitCode: 0, output: 'sure', durationMs: 1 }));
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const address = impostor.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const result = await client(SECRET, { url: `http://127.0.0.1:${port}` }).run(
        NODE,
        'restart-kubelet',
        'heal-impostor',
      );
      expect(result.outcome).toBe('unreachable');
      expect(detail(result)).toContain('HTTP 200 without a valid agent signature');
    } finally {
      impostor.close();
    }
  });

  it('picks up a rotated secret file without a restart, accepting old and new during the rotation', async () => {
    writeFileSync(secretFile, `${NEW_SECRET}\n${SECRET}\n`);
    await eventually(
      'the agent to accept the new secret',
      async () =>
        (await client(NEW_SECRET).run(NODE, 'restart-kubelet', 'heal-rotated')).outcome === 'ok' ||
        undefined,
      10_000,
    );
    expect((await client(SECRET).run(NODE, 'restart-kubelet', 'heal-rotation-old')).outcome).toBe(
      'ok',
    );
    writeFileSync(secretFile, `${NEW_SECRET}\n`);
    await eventually(
      'the agent to refuse the old secret',
      async () =>
        detail(await client(SECRET).run(NODE, 'restart-kubelet', 'heal-old-refused')).includes(
          '401',
        ) || undefined,
      10_000,
    );
    writeFileSync(secretFile, `${SECRET}\n`);
    await eventually(
      'the agent to accept the original secret again',
      async () =>
        (await client(SECRET).run(NODE, 'restart-kubelet', 'heal-restored')).outcome === 'ok' ||
        undefined,
      10_000,
    );
  });

  it('is unreachable while stopped, and after a restart still answers earlier heals from its record', async () => {
    await agent.stop();
    const down = await client(SECRET).run(NODE, 'restart-kubelet', 'heal-ok');
    expect(down.outcome).toBe('unreachable');
    expect(detail(down)).toContain('ECONNREFUSED');
    const before = runs().length;
    agent = await startAgent();
    const again = await client(SECRET).run(NODE, 'restart-kubelet', 'heal-ok');
    expect(again).toMatchObject({ outcome: 'ok', exitCode: 0 });
    expect(runs().length).toBe(before);
  });
});

describe('nodeheal agent start-up', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [main, 'agent'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        ...process.env,
        NODEHEAL_AGENT_LISTEN: '127.0.0.1:0',
        NODEHEAL_AGENT_HEALTH_LISTEN: 'off',
        NODEHEAL_AGENT_SECRET_FILE: secretFile,
        NODEHEAL_AGENT_CATALOG: catalogFile,
        NODEHEAL_AGENT_NODE: NODE,
        ...env,
      },
    });

  it.each([
    [{ NODEHEAL_AGENT_NODE: '' }, 'NODEHEAL_AGENT_NODE (--node): required'],
    [{ NODEHEAL_AGENT_HEALTH_LISTEN: '0.0.0.0:9181' }, 'loopback only'],
    [{ NODEHEAL_AGENT_SECRET_FILE: '/nonexistent/secret' }, '/nonexistent/secret'],
    [{ NODEHEAL_AGENT_CATALOG: join(fixtures, 'record-run.sh') }, 'invalid agent catalog'],
  ])('exits 1 and says why for %j', (env, message) => {
    const result = run(env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('refuses a secret that is too short', () => {
    const short = join(dir, 'short-secret');
    writeFileSync(short, 'changeme\n');
    const result = run({ NODEHEAL_AGENT_SECRET_FILE: short });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('at least 32 characters');
  });
});
