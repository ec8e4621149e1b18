// The node agent's command port: the order in which a request is checked before any command is
// considered. Authenticate it (the HMAC over its envelope), issue a challenge or spend the one it
// carries (replay protection by the agent's monotonic clock, whatever its wall clock says), refuse
// other paths and methods, log a wall clock far off the requester's, then hand the run request to
// the command dispatcher. Reading and signing the envelope is request-envelope.ts; which command
// runs, and when, is command-dispatch.ts. Also the loopback health endpoint.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/index.ts';
import type { AgentCatalog } from './agent-catalog.ts';
import { ChallengeStore } from './challenge-store.ts';
import { createCommandDispatcher, type RunningCommand } from './command-dispatch.ts';
import {
  readEnvelope,
  sendJson,
  verifyEnvelope,
  type ResponseSigning,
} from './request-envelope.ts';
import { ResultStore } from './result-store.ts';
import {
  CHALLENGE_PATH,
  CLOCK_SKEW_WARN_MS,
  RUN_PATH,
  type ChallengeRequestFields,
} from './signing.ts';

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
  running: () => RunningCommand | undefined;
  /** Resolves once no command is running. */
  idle: () => Promise<void>;
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
  const dispatcher = createCommandDispatcher({ node, catalog, results, logger, now });

  function handleChallenge(
    req: IncomingMessage,
    res: ServerResponse,
    fields: ChallengeRequestFields,
    signing: ResponseSigning,
  ): void {
    if (fields.path === RUN_PATH) {
      sendJson(
        res,
        401,
        { error: 'unauthorized', detail: `a run request needs a challenge: GET ${CHALLENGE_PATH}` },
        signing,
      );
      return;
    }
    if (fields.path !== CHALLENGE_PATH) {
      sendJson(res, 404, { error: 'not-found' }, signing);
      return;
    }
    if (fields.method !== 'GET') {
      res.setHeader('allow', 'GET');
      sendJson(res, 405, { error: 'method-not-allowed' }, signing);
      return;
    }
    if (fields.node !== node) {
      logger.warn(
        { node: fields.node, agentNode: node, remote: req.socket.remoteAddress },
        'agent refused a challenge: request is for another node',
      );
      sendJson(
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
    sendJson(res, 200, { ...body }, signing);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume(); // requests carry no body; drain whatever comes
    const envelope = readEnvelope(req);
    if (envelope === undefined) {
      logger.warn({ path: req.url, remote: req.socket.remoteAddress }, 'agent refused: unsigned');
      sendJson(res, 401, { error: 'unauthorized' });
      return;
    }
    const verdict = verifyEnvelope(options.secrets(), envelope);
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
      sendJson(res, 401, { error: 'unauthorized' });
      return;
    }
    if (envelope.kind === 'challenge') {
      const { fields } = envelope;
      handleChallenge(req, res, fields, { secret: verdict.secret, binding: fields.nonce });
      return;
    }

    const { fields } = envelope;
    const signing: ResponseSigning = { secret: verdict.secret, binding: fields.challenge };
    const log = { healId: fields.healId, node: fields.node, command: fields.command };
    const challenge = challenges.consume(fields.challenge, monotonicNow());
    if (challenge !== 'ok') {
      logger.warn({ ...log, reason: challenge }, 'agent refused: challenge not usable');
      sendJson(
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
      sendJson(res, 404, { error: 'not-found' }, signing);
      return;
    }
    if (fields.method !== 'POST') {
      res.setHeader('allow', 'POST');
      sendJson(res, 405, { error: 'method-not-allowed' }, signing);
      return;
    }
    const clockSkewMs = now() - fields.timestamp;
    if (Math.abs(clockSkewMs) > CLOCK_SKEW_WARN_MS) {
      logger.warn(
        { ...log, clockSkewMs, agentTime: new Date(now()).toISOString() },
        'agent clock and requester clock differ by more than 60 s (information only, not refused)',
      );
    }
    dispatcher.dispatch(res, fields, signing).catch((error: unknown) => {
      logger.error({ err: error, healId: fields.healId }, 'agent failed to answer');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' }, signing);
    });
  }

  return { handle, running: dispatcher.running, idle: dispatcher.idle };
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
