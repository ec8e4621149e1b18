// The node agent's HTTP handler: authenticate every request (HMAC over the envelope), issue
// challenges and accept each once (replay protection by the agent's monotonic clock, whatever its
// wall clock says), refuse requests for another node, run at most one catalog command at a time,
// answer a retried (heal id, command) from its record, and sign the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/index.ts';
import { catalogCommand, type AgentCatalog } from './agent-catalog.ts';
import { ChallengeStore } from './challenge-store.ts';
import { ResultStore, type StoredResult } from './result-store.ts';
import { runCommand, type CommandRun } from './run-command.ts';
import {
  AGENT_HEADERS,
  CHALLENGE_PATH,
  CLOCK_SKEW_WARN_MS,
  RUN_PATH,
  signResponse,
  verifyChallengeRequest,
  verifyRequest,
  type ChallengeRequestFields,
  type SignedFields,
} from './signing.ts';

/** The JSON body of a 200 from `POST /v1/run`. */
export interface AgentRunResponse {
  outcome: 'ok' | 'failed';
  exitCode: number;
  output: string;
  durationMs: number;
  timedOut: boolean;
  node: string;
  command: string;
  healId: string;
  startedAt: string;
  /** True when this is the recorded result of an earlier request (nothing ran now). */
  recorded: boolean;
}

export interface AgentServerOptions {
  /** This node's name; requests for any other node are refused (403). */
  node: string;
  catalog: AgentCatalog;
  /** Accepted secrets, current first (re-read by the caller when the file changes). */
  secrets: () => readonly string[];
  logger: Logger;
  results?: ResultStore;
  /** Issued challenges (a fresh store with the default lifetime and bound when omitted). */
  challenges?: ChallengeStore;
  /**
   * Wall clock in Unix milliseconds: result records and the clock difference that is logged;
   * never a reason to refuse. Injectable for tests.
   */
  now?: () => number;
  /** Monotonic clock in milliseconds for challenge lifetimes; `performance.now()` by default. */
  monotonicNow?: () => number;
}

/** The JSON body of a 200 from `GET /v1/challenge`. */
export interface AgentChallengeResponse {
  /** 128 random bits, hex: sign the run request over it, once, within `expiresInMs`. */
  challenge: string;
  expiresInMs: number;
}

export interface AgentServer {
  /** Request handler for `node:http` `createServer`. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The command running now, if any. */
  running: () => { healId: string; command: string } | undefined;
  /** Resolves once no command is running. */
  idle: () => Promise<void>;
}

type Json = Record<string, unknown>;

/** The secret that verified the request, and what the answer's signature is bound to. */
interface Signing {
  secret: string;
  binding: string;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

type Envelope =
  | { kind: 'run'; fields: SignedFields; signature: string }
  | { kind: 'challenge'; fields: ChallengeRequestFields; signature: string };

/**
 * The signed envelope of a request: a run envelope when it carries a challenge header, else a
 * challenge-request envelope; undefined when a header it needs is missing.
 */
function envelopeOf(req: IncomingMessage): Envelope | undefined {
  const get = (name: string) => header(req, name);
  const method = req.method ?? '';
  const path = (req.url ?? '').split('?')[0] ?? '';
  const node = get(AGENT_HEADERS.node);
  const signature = get(AGENT_HEADERS.signature);
  if (node === undefined || signature === undefined) return undefined;
  const challenge = get(AGENT_HEADERS.challenge);
  if (challenge === undefined) {
    const nonce = get(AGENT_HEADERS.nonce);
    if (nonce === undefined) return undefined;
    return { kind: 'challenge', fields: { method, path, node, nonce }, signature };
  }
  const command = get(AGENT_HEADERS.command);
  const healId = get(AGENT_HEADERS.healId);
  const timestamp = get(AGENT_HEADERS.timestamp);
  if (
    command === undefined ||
    healId === undefined ||
    timestamp === undefined ||
    !/^\d{1,16}$/.test(timestamp)
  ) {
    return undefined;
  }
  return {
    kind: 'run',
    fields: { method, path, node, command, healId, timestamp: Number(timestamp), challenge },
    signature,
  };
}

function send(res: ServerResponse, status: number, body: Json, signing?: Signing): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
  };
  if (signing) {
    headers[AGENT_HEADERS.signature] = signResponse(signing.secret, signing.binding, status, text);
  }
  if (status === 401) headers['www-authenticate'] = 'NodehealHMAC realm="nodeheal-agent"';
  res.writeHead(status, headers);
  res.end(text);
}

function toResponse(node: string, record: StoredResult, recorded: boolean): AgentRunResponse {
  return {
    outcome: record.exitCode === 0 ? 'ok' : 'failed',
    exitCode: record.exitCode,
    output: record.output,
    durationMs: record.durationMs,
    timedOut: record.timedOut,
    node,
    command: record.command,
    healId: record.healId,
    startedAt: record.startedAt,
    recorded,
  };
}

/**
 * Builds the agent's request handler.
 *
 * Every request, whatever its path, goes through these steps in order; the first that fails
 * answers and nothing runs:
 * - 401 when the envelope headers are missing or malformed, or the signature matches no
 *   accepted secret (the body says only "unauthorized", unsigned). A request with a challenge
 *   header is a run envelope, one without it a challenge-request envelope.
 * - Challenge-request envelope: 404 for any path but `/v1/challenge`, except `/v1/run`, which
 *   answers 401 "needs a challenge"; 405 for another method than GET; 403 when the signed node
 *   is not this agent's node; otherwise 200 with a fresh challenge
 *   (`{ challenge, expiresInMs }`), valid once, for the store's lifetime by the monotonic clock.
 * - Run envelope: the challenge is used up now, whatever follows; 401 when it was not issued
 *   by this agent, was used already, was dropped (agent restart, too many outstanding) or
 *   expired; then 404 for any path but `/v1/run` (405 for another method than POST); 403 when
 *   the signed node is not this agent's node; 404 with `outcome: unknown-command` when the
 *   catalog has no such command; 200 with the recorded result when this (heal id, command)
 *   already ran (`recorded: true`); a request for the (heal id, command) that is running now
 *   waits for it and gets its result; 409 when another command is running (one command at a
 *   time per node); otherwise the command runs and its result (exit code, output tail,
 *   duration) is recorded and returned with 200: `outcome` `ok` for exit code 0, else `failed`.
 * - The signed timestamp is information only: a difference with the agent's wall clock of more
 *   than 60 s is logged at warn level, never refused (`sync-clock` must reach a wrong clock).
 *
 * Every answer to a request whose signature verified is signed, bound to the client's nonce
 * (challenge requests) or to the challenge (run requests), so a client can tell the real agent
 * from something answering on its address.
 */
export function createAgentServer(options: AgentServerOptions): AgentServer {
  const { node, catalog, logger } = options;
  const now = options.now ?? Date.now;
  const monotonicNow = options.monotonicNow ?? (() => performance.now());
  const results = options.results ?? new ResultStore({ now });
  const challenges = options.challenges ?? new ChallengeStore();
  let current: { healId: string; command: string; done: Promise<StoredResult> } | undefined;

  async function execute(healId: string, command: string): Promise<StoredResult> {
    const entry = catalogCommand(catalog, command);
    if (entry === undefined) throw new Error(`no catalog entry for ${command}`);
    results.begin(healId, command, now());
    logger.info({ healId, node, command, argv: entry.argv }, 'agent running host command');
    let run: CommandRun;
    try {
      run = await runCommand(entry, catalog.outputTailBytes);
    } catch (error) {
      run = {
        exitCode: 1,
        output: `[nodeheal-agent] ${(error as Error).message}`,
        durationMs: 0,
        timedOut: false,
      };
    }
    const record = results.finish(healId, command, run);
    logger.info(
      {
        healId,
        node,
        command,
        exitCode: run.exitCode,
        durationMs: run.durationMs,
        timedOut: run.timedOut,
      },
      run.exitCode === 0 ? 'host command succeeded' : 'host command failed',
    );
    return record;
  }

  async function handleRun(
    res: ServerResponse,
    fields: SignedFields,
    signing: Signing,
  ): Promise<void> {
    const log = { healId: fields.healId, node: fields.node, command: fields.command };
    if (fields.node !== node) {
      logger.warn({ ...log, agentNode: node }, 'agent refused: request is for another node');
      send(
        res,
        403,
        { error: 'wrong-node', detail: `this agent runs on ${node}, not ${fields.node}` },
        signing,
      );
      return;
    }
    if (catalogCommand(catalog, fields.command) === undefined) {
      logger.warn(log, 'agent refused: command not in catalog');
      send(
        res,
        404,
        {
          outcome: 'unknown-command',
          detail: `${fields.command} is not in the agent catalog of ${node}`,
        },
        signing,
      );
      return;
    }
    const recorded = results.get(fields.healId, fields.command);
    if (recorded && recorded.state === 'done') {
      logger.info(log, 'agent answered from its record: this heal already ran this command');
      send(res, 200, { ...toResponse(node, recorded, true) }, signing);
      return;
    }
    if (current && current.healId === fields.healId && current.command === fields.command) {
      logger.info(log, 'agent joined the same command already running');
      const record = await current.done;
      send(res, 200, { ...toResponse(node, record, true) }, signing);
      return;
    }
    if (current) {
      logger.warn({ ...log, running: current.command }, 'agent busy: another command is running');
      send(
        res,
        409,
        {
          error: 'busy',
          detail: `${current.command} (heal ${current.healId}) is running on ${node}`,
        },
        signing,
      );
      return;
    }
    const done = execute(fields.healId, fields.command);
    current = { healId: fields.healId, command: fields.command, done };
    try {
      const record = await done;
      send(res, 200, { ...toResponse(node, record, false) }, signing);
    } finally {
      current = undefined;
    }
  }

  function handleChallenge(
    req: IncomingMessage,
    res: ServerResponse,
    fields: ChallengeRequestFields,
    signing: Signing,
  ): void {
    if (fields.path === RUN_PATH) {
      send(
        res,
        401,
        { error: 'unauthorized', detail: `a run request needs a challenge: GET ${CHALLENGE_PATH}` },
        signing,
      );
      return;
    }
    if (fields.path !== CHALLENGE_PATH) {
      send(res, 404, { error: 'not-found' }, signing);
      return;
    }
    if (fields.method !== 'GET') {
      res.setHeader('allow', 'GET');
      send(res, 405, { error: 'method-not-allowed' }, signing);
      return;
    }
    if (fields.node !== node) {
      logger.warn(
        { node: fields.node, agentNode: node, remote: req.socket.remoteAddress },
        'agent refused a challenge: request is for another node',
      );
      send(
        res,
        403,
        { error: 'wrong-node', detail: `this agent runs on ${node}, not ${fields.node}` },
        signing,
      );
      return;
    }
    const challenge = challenges.issue(monotonicNow());
    logger.debug({ node, remote: req.socket.remoteAddress }, 'agent issued a challenge');
    const body: AgentChallengeResponse = { challenge, expiresInMs: challenges.ttlMs };
    send(res, 200, { ...body }, signing);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume(); // requests carry no body; drain whatever comes
    const envelope = envelopeOf(req);
    if (envelope === undefined) {
      logger.warn({ path: req.url, remote: req.socket.remoteAddress }, 'agent refused: unsigned');
      send(res, 401, { error: 'unauthorized' });
      return;
    }
    const verdict =
      envelope.kind === 'run'
        ? verifyRequest(options.secrets(), envelope.fields, envelope.signature)
        : verifyChallengeRequest(options.secrets(), envelope.fields, envelope.signature);
    if (!verdict.ok) {
      logger.warn(
        {
          reason: verdict.reason,
          envelope: envelope.kind,
          path: envelope.fields.path,
          remote: req.socket.remoteAddress,
        },
        'agent refused: authentication failed',
      );
      send(res, 401, { error: 'unauthorized' });
      return;
    }
    if (envelope.kind === 'challenge') {
      const { fields } = envelope;
      handleChallenge(req, res, fields, { secret: verdict.secret, binding: fields.nonce });
      return;
    }

    const { fields } = envelope;
    const signing = { secret: verdict.secret, binding: fields.challenge };
    const log = { healId: fields.healId, node: fields.node, command: fields.command };
    const challenge = challenges.consume(fields.challenge, monotonicNow());
    if (challenge !== 'ok') {
      logger.warn({ ...log, reason: challenge }, 'agent refused: challenge not usable');
      send(
        res,
        401,
        {
          error: 'unauthorized',
          detail:
            challenge === 'expired'
              ? `challenge expired (valid ${challenges.ttlMs / 1000}s)`
              : 'unknown or already used challenge',
        },
        signing,
      );
      return;
    }
    if (fields.path !== RUN_PATH) {
      send(res, 404, { error: 'not-found' }, signing);
      return;
    }
    if (fields.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, { error: 'method-not-allowed' }, signing);
      return;
    }
    const clockSkewMs = now() - fields.timestamp;
    if (Math.abs(clockSkewMs) > CLOCK_SKEW_WARN_MS) {
      logger.warn(
        { ...log, clockSkewMs, agentTime: new Date(now()).toISOString() },
        'agent clock and requester clock differ by more than 60 s (information only, not refused)',
      );
    }
    handleRun(res, fields, signing).catch((error: unknown) => {
      logger.error({ err: error, healId: fields.healId }, 'agent failed to answer');
      if (!res.headersSent) send(res, 500, { error: 'internal' }, signing);
    });
  }

  return {
    handle,
    running: () => (current ? { healId: current.healId, command: current.command } : undefined),
    idle: async () => {
      while (current) await current.done.catch(() => undefined);
    },
  };
}

/** The loopback health endpoint: `GET /healthz` answers `ok`, nothing else is served. */
export function healthHandler(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const path = (req.url ?? '').split('?')[0];
  if ((req.method === 'GET' || req.method === 'HEAD') && path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
}
