// The node agent's HTTP handler: authenticate every request (HMAC over the envelope, timestamp,
// nonce), refuse requests for another node, run at most one catalog command at a time, answer a
// retried (heal id, command) from its record, and sign the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/index.ts';
import { catalogCommand, type AgentCatalog } from './agent-catalog.ts';
import { ReplayGuard } from './replay-guard.ts';
import { ResultStore, type StoredResult } from './result-store.ts';
import { runCommand, type CommandRun } from './run-command.ts';
import {
  AGENT_HEADERS,
  MAX_CLOCK_SKEW_MS,
  RUN_PATH,
  signResponse,
  verifyRequest,
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
  replay?: ReplayGuard;
  /** Wall clock in Unix milliseconds (timestamps); injectable for tests. */
  now?: () => number;
  maxSkewMs?: number;
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

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function fieldsOf(req: IncomingMessage): { fields: SignedFields; signature: string } | undefined {
  const get = (name: string) => header(req, name);
  const node = get(AGENT_HEADERS.node);
  const command = get(AGENT_HEADERS.command);
  const healId = get(AGENT_HEADERS.healId);
  const timestamp = get(AGENT_HEADERS.timestamp);
  const nonce = get(AGENT_HEADERS.nonce);
  const signature = get(AGENT_HEADERS.signature);
  if (
    node === undefined ||
    command === undefined ||
    healId === undefined ||
    timestamp === undefined ||
    nonce === undefined ||
    signature === undefined ||
    !/^\d{1,16}$/.test(timestamp)
  ) {
    return undefined;
  }
  const path = (req.url ?? '').split('?')[0] ?? '';
  return {
    fields: {
      method: req.method ?? '',
      path,
      node,
      command,
      healId,
      timestamp: Number(timestamp),
      nonce,
    },
    signature,
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: Json,
  signing?: { secret: string; nonce: string },
): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
  };
  if (signing) {
    headers[AGENT_HEADERS.signature] = signResponse(signing.secret, signing.nonce, status, text);
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
 *   accepted secret (the body says only "unauthorized");
 * - 401 when the signed timestamp is more than ±60 s from the agent's clock, or the nonce was
 *   seen before (replay); 503 when the nonce memory is full;
 * - 404 for any path but `POST /v1/run` (405 for another method on it);
 * - 403 when the signed node is not this agent's node;
 * - 404 with `outcome: unknown-command` when the catalog has no such command;
 * - 200 with the recorded result when this (heal id, command) already ran (`recorded: true`);
 *   a request for the (heal id, command) that is running now waits for it and gets its result;
 * - 409 when another command is running (one command at a time per node);
 * - otherwise the command runs and its result (exit code, output tail, duration) is recorded
 *   and returned with 200: `outcome` `ok` for exit code 0, else `failed`.
 *
 * Every answer after a valid signature carries a response signature bound to the request's
 * nonce, so a client can tell the real agent from something answering on its address.
 */
export function createAgentServer(options: AgentServerOptions): AgentServer {
  const { node, catalog, logger } = options;
  const now = options.now ?? Date.now;
  const maxSkewMs = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
  const results = options.results ?? new ResultStore({ now });
  const replay = options.replay ?? new ReplayGuard({ maxSkewMs });
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
    signing: { secret: string; nonce: string },
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

  function handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume(); // requests carry no body; drain whatever comes
    const parsed = fieldsOf(req);
    if (parsed === undefined) {
      logger.warn({ path: req.url, remote: req.socket.remoteAddress }, 'agent refused: unsigned');
      send(res, 401, { error: 'unauthorized' });
      return;
    }
    const { fields, signature } = parsed;
    const verdict = verifyRequest(options.secrets(), fields, signature, now(), maxSkewMs);
    if (!verdict.ok) {
      logger.warn(
        { reason: verdict.reason, path: fields.path, remote: req.socket.remoteAddress },
        'agent refused: authentication failed',
      );
      send(
        res,
        401,
        verdict.reason === 'stale-timestamp'
          ? { error: 'unauthorized', detail: `timestamp not within ±${maxSkewMs / 1000}s` }
          : { error: 'unauthorized' },
      );
      return;
    }
    const nonce = replay.check(fields.nonce, fields.timestamp, now());
    if (nonce !== 'fresh') {
      logger.warn(
        { reason: nonce, healId: fields.healId, command: fields.command },
        'agent refused: nonce',
      );
      if (nonce === 'replayed') send(res, 401, { error: 'unauthorized', detail: 'replayed nonce' });
      else send(res, 503, { error: 'replay-memory-full' });
      return;
    }
    const signing = { secret: verdict.secret, nonce: fields.nonce };
    if (fields.path !== RUN_PATH) {
      send(res, 404, { error: 'not-found' }, signing);
      return;
    }
    if (fields.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, { error: 'method-not-allowed' }, signing);
      return;
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
