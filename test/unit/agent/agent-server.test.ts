// The agent's request handler without a network (fake request and response objects, a fake wall
// clock and a fake monotonic clock): the challenge exchange, one use per challenge, lifetimes by
// the monotonic clock only, the timestamp as information, and the refusals with their statuses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_HEADERS,
  CHALLENGE_PATH,
  ChallengeStore,
  RUN_PATH,
  createAgentServer,
  loadAgentCatalog,
  newNonce,
  signChallengeRequest,
  signRequest,
  verifyResponse,
  type AgentCatalog,
  type AgentServer,
  type SignedFields,
} from '../../../src/agent/index.ts';

const SECRET = 'a'.repeat(64);
const OLD_SECRET = 'b'.repeat(64);
const WRONG = 'c'.repeat(64);
const NODE = 'node-a';
const WALL = Date.parse('2026-11-26T12:00:00Z');

const catalogResult = loadAgentCatalog(
  [
    'version: 1',
    'commands:',
    '  sync-clock:',
    "    argv: [/bin/sh, '-c', 'echo synced']",
    '    timeout: 10s',
  ].join('\n'),
  'test-catalog.yaml',
);
if (!catalogResult.ok) throw new Error('test catalog invalid');
const catalog: AgentCatalog = catalogResult.catalog;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  text: string;
}

/** Calls the handler with a request that has these headers and no body; resolves on `end`. */
function call(
  server: AgentServer,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<Answer> {
  return new Promise((resolveAnswer) => {
    const req = {
      method,
      url: path,
      headers,
      socket: { remoteAddress: '10.0.0.9' },
      resume: () => undefined,
    } as unknown as IncomingMessage;
    const extra: Record<string, string> = {};
    let status = 0;
    let written: Record<string, string> = {};
    let sent = false;
    const res = {
      get headersSent() {
        return sent;
      },
      setHeader: (name: string, value: string) => (extra[name] = value),
      writeHead(code: number, h: Record<string, string>) {
        status = code;
        written = { ...extra, ...h };
        sent = true;
      },
      end(text: string) {
        resolveAnswer({
          status,
          headers: written,
          body: JSON.parse(text) as Record<string, unknown>,
          text,
        });
      },
    } as unknown as ServerResponse;
    server.handle(req, res);
  });
}

let wall: number;
let mono: number;
let lines: Record<string, unknown>[];
let challenges: ChallengeStore;
let secrets: string[];
let server: AgentServer;

beforeEach(() => {
  wall = WALL;
  mono = 5_000;
  lines = [];
  secrets = [SECRET, OLD_SECRET];
  challenges = new ChallengeStore();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  server = createAgentServer({
    node: NODE,
    catalog,
    secrets: () => secrets,
    logger: pino({ level: 'debug' }, sink),
    challenges,
    now: () => wall,
    monotonicNow: () => mono,
  });
});

/** Asks for a challenge as a client would; returns the answer and the nonce it is bound to. */
async function askChallenge(
  options: { secret?: string; node?: string; method?: string; path?: string } = {},
): Promise<{ answer: Answer; nonce: string }> {
  const fields = {
    method: options.method ?? 'GET',
    path: options.path ?? CHALLENGE_PATH,
    node: options.node ?? NODE,
    nonce: newNonce(),
  };
  const answer = await call(server, fields.method, fields.path, {
    [AGENT_HEADERS.node]: fields.node,
    [AGENT_HEADERS.nonce]: fields.nonce,
    [AGENT_HEADERS.signature]: signChallengeRequest(options.secret ?? SECRET, fields),
  });
  return { answer, nonce: fields.nonce };
}

async function challenge(): Promise<string> {
  const { answer } = await askChallenge();
  expect(answer.status).toBe(200);
  return answer.body.challenge as string;
}

function runHeaders(fields: SignedFields, secret = SECRET): Record<string, string> {
  return {
    [AGENT_HEADERS.node]: fields.node,
    [AGENT_HEADERS.command]: fields.command,
    [AGENT_HEADERS.healId]: fields.healId,
    [AGENT_HEADERS.timestamp]: String(fields.timestamp),
    [AGENT_HEADERS.challenge]: fields.challenge,
    [AGENT_HEADERS.signature]: signRequest(secret, fields),
  };
}

function runFields(challengeValue: string, overrides: Partial<SignedFields> = {}): SignedFields {
  return {
    method: 'POST',
    path: RUN_PATH,
    node: NODE,
    command: 'sync-clock',
    healId: 'heal-1',
    timestamp: wall,
    challenge: challengeValue,
    ...overrides,
  };
}

async function run(fields: SignedFields, secret = SECRET): Promise<Answer> {
  return call(server, fields.method, fields.path, runHeaders(fields, secret));
}

const signedBy = (answer: Answer, binding: string) =>
  verifyResponse(
    SECRET,
    binding,
    answer.status,
    answer.text,
    answer.headers[AGENT_HEADERS.signature],
  );

describe('agent handler: challenges', () => {
  it('issues a challenge to a signed GET, in an answer signed over the client nonce', async () => {
    const { answer, nonce } = await askChallenge();
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(['challenge', 'expiresInMs']);
    expect(answer.body.challenge).toMatch(/^[0-9a-f]{32}$/);
    expect(answer.body.expiresInMs).toBe(30_000);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(signedBy(answer, nonce)).toBe(true);
    expect(challenges.size).toBe(1);
  });

  it('issues to a request signed with any accepted secret (rotation)', async () => {
    expect((await askChallenge({ secret: OLD_SECRET })).answer.status).toBe(200);
  });

  it.each([
    ['no headers at all', {}],
    ['no signature', { [AGENT_HEADERS.node]: NODE, [AGENT_HEADERS.nonce]: newNonce() }],
  ])('answers 401 unsigned to %s and issues nothing', async (_label, headers) => {
    const answer = await call(server, 'GET', CHALLENGE_PATH, headers);
    expect(answer).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(answer.headers[AGENT_HEADERS.signature]).toBeUndefined();
    expect(answer.headers['www-authenticate']).toContain('NodehealHMAC');
    expect(challenges.size).toBe(0);
  });

  it('answers 401 to a challenge request signed with a wrong secret, and issues nothing', async () => {
    const { answer } = await askChallenge({ secret: WRONG });
    expect(answer).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(answer.headers[AGENT_HEADERS.signature]).toBeUndefined();
    expect(challenges.size).toBe(0);
  });

  it.each([
    ['another node', { node: 'node-b' }, 403, { error: 'wrong-node' }],
    ['another method', { method: 'POST' }, 405, { error: 'method-not-allowed' }],
    ['another path', { path: '/v1/other' }, 404, { error: 'not-found' }],
    ['the run path', { path: RUN_PATH, method: 'POST' }, 401, { error: 'unauthorized' }],
  ])(
    'refuses a signed challenge request for %s (%i), signed, issuing nothing',
    async (_l, o, status, body) => {
      const { answer, nonce } = await askChallenge(o);
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject(body);
      expect(signedBy(answer, nonce)).toBe(true);
      expect(challenges.size).toBe(0);
    },
  );
});

describe('agent handler: run requests', () => {
  it('runs a request signed over a fresh challenge, answer signed over that challenge', async () => {
    const c = await challenge();
    const answer = await run(runFields(c));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      outcome: 'ok',
      exitCode: 0,
      command: 'sync-clock',
      recorded: false,
    });
    expect(answer.body.output).toBe('synced\n');
    expect(signedBy(answer, c)).toBe(true);
    expect(challenges.size).toBe(0);
  });

  it.each([
    ['an hour ahead of the agent', 3_600_000],
    ['a day behind the agent', -86_400_000],
  ])('runs a request whose timestamp is %s, and logs the difference', async (_label, offset) => {
    const c = await challenge();
    const answer = await run(runFields(c, { timestamp: WALL + offset, healId: 'heal-skew' }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ outcome: 'ok' });
    const warning = lines.find((l) => typeof l.clockSkewMs === 'number');
    expect(warning).toMatchObject({ level: 40, clockSkewMs: -offset, healId: 'heal-skew' });
  });

  it('does not log a difference within 60 s', async () => {
    const c = await challenge();
    expect((await run(runFields(c, { timestamp: WALL - 59_000 }))).status).toBe(200);
    expect(lines.some((l) => 'clockSkewMs' in l)).toBe(false);
  });

  it('refuses a replay of the same request (401, signed), and runs it once', async () => {
    const c = await challenge();
    const fields = runFields(c, { healId: 'heal-replayed' });
    expect((await run(fields)).body).toMatchObject({ outcome: 'ok', recorded: false });
    const replay = await run(fields);
    expect(replay).toMatchObject({
      status: 401,
      body: { error: 'unauthorized', detail: 'unknown or already used challenge' },
    });
    expect(signedBy(replay, c)).toBe(true);
    expect(lines.filter((l) => l.msg === 'agent running host command')).toHaveLength(1);
  });

  it('a retry with a new challenge and the same heal id gets the recorded result', async () => {
    const first = await run(runFields(await challenge(), { healId: 'heal-retry' }));
    const again = await run(runFields(await challenge(), { healId: 'heal-retry' }));
    expect(again.body).toEqual({ ...first.body, recorded: true });
    expect(lines.filter((l) => l.msg === 'agent running host command')).toHaveLength(1);
  });

  it.each([
    ['at the end of its lifetime', 30_000, 200],
    ['a millisecond after it', 30_001, 401],
  ])('a challenge used %s (monotonic clock) answers %i', async (_label, after, status) => {
    const c = await challenge();
    mono += after;
    const answer = await run(runFields(c));
    expect(answer.status).toBe(status);
    if (status === 401) expect(answer.body.detail).toBe('challenge expired (valid 30s)');
  });

  it('ignores a wall clock stepped by hours between challenge and run', async () => {
    const c = await challenge();
    wall += 7 * 3_600_000; // sync-clock elsewhere, or a bad NTP step: the monotonic clock did not move
    mono += 100;
    expect((await run(runFields(c))).status).toBe(200);
  });

  it('refuses a challenge it never issued (401)', async () => {
    const answer = await run(runFields(newNonce()));
    expect(answer).toMatchObject({
      status: 401,
      body: { detail: 'unknown or already used challenge' },
    });
  });

  it('refuses a wrong secret before the challenge, which stays usable once', async () => {
    const c = await challenge();
    const forged = await run(runFields(c), WRONG);
    expect(forged).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(forged.body.detail).toBeUndefined();
    expect(forged.headers[AGENT_HEADERS.signature]).toBeUndefined();
    expect((await run(runFields(c), OLD_SECRET)).status).toBe(200);
  });

  it.each([
    ['another node', { node: 'node-b' }, 403, 'wrong-node'],
    ['another path', { path: '/v1/other' }, 404, 'not-found'],
    ['another method', { method: 'PUT' }, 405, 'method-not-allowed'],
  ])(
    'answers a run for %s with %i and uses up its challenge',
    async (_l, change, status, error) => {
      const c = await challenge();
      const fields = runFields(c, change);
      const answer = await run(fields);
      expect(answer.status).toBe(status);
      expect(answer.body.error).toBe(error);
      expect(signedBy(answer, c)).toBe(true);
      expect((await run(runFields(c))).status).toBe(401);
    },
  );

  it('answers unknown-command (404) for a command the catalog lacks', async () => {
    const answer = await run(runFields(await challenge(), { command: 'reboot' }));
    expect(answer).toMatchObject({ status: 404, body: { outcome: 'unknown-command' } });
  });

  it('refuses a request missing its timestamp (401 unsigned)', async () => {
    const headers = runHeaders(runFields(await challenge()));
    delete headers[AGENT_HEADERS.timestamp];
    const answer = await call(server, 'POST', RUN_PATH, headers);
    expect(answer).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });
});
