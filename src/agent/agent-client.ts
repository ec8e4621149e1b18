// The client side of HostCommands: nodeheal asks the node agent on the faulty node for a
// challenge, then to run a catalogued host command with a request signed over it, and maps every
// answer (or the lack of one) onto a HostCommandResult. Plus its dry-run twin, and the agent's
// address for a Node.
import { connect } from 'node:net';
import type { V1Node } from '@kubernetes/client-node';
import type { HostCommand, HostCommandResult, HostCommands } from '../actions/index.ts';
import {
  AGENT_HEADERS,
  CHALLENGE_PATH,
  RUN_PATH,
  invalidField,
  newNonce,
  signChallengeRequest,
  signRequest,
  verifyResponse,
  type ChallengeRequestFields,
  type SignedFields,
} from './signing.ts';

export interface AgentClientOptions {
  /** The current shared secret (re-read by the caller when its file changes). */
  secret: () => string;
  /** The agent's base URL for a node, such as `http://10.0.3.7:9180`; undefined when unknown. */
  endpointFor: (node: string) => Promise<string | undefined>;
  /** Give up waiting for the agent after this long; longer than the longest catalog timeout. */
  timeoutMs: number;
  /** Wall clock in Unix milliseconds, for the timestamp (information only); injectable for tests. */
  now?: () => number;
}

// The agent's answers are checked by hand: this file is loaded by the agent's own index (the
// node agent loads no schema library: docs/benchmarks.md, "Footprint").
interface RunResponse {
  outcome: 'ok' | 'failed';
  exitCode: number;
  output: string;
  durationMs: number;
}

/** A body that is JSON but not the expected answer. */
class MalformedAnswer extends Error {}

const fieldsOf = (body: string): Record<string, unknown> => {
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MalformedAnswer('not an object');
  return value as Record<string, unknown>;
};

const nonNegative = (value: unknown) => typeof value === 'number' && value >= 0;

/** The run answer's fields; throws on a body that is not one. */
function runResponse(body: string): RunResponse {
  const r = fieldsOf(body);
  if (
    (r.outcome !== 'ok' && r.outcome !== 'failed') ||
    !Number.isSafeInteger(r.exitCode) ||
    typeof r.output !== 'string' ||
    !nonNegative(r.durationMs)
  )
    throw new MalformedAnswer('not a run answer');
  return r as unknown as RunResponse;
}

/** The challenge of a challenge answer; throws on a body that is not one. */
function challengeOf(body: string): string {
  const r = fieldsOf(body);
  if (typeof r.challenge !== 'string' || !nonNegative(r.expiresInMs))
    throw new MalformedAnswer('not a challenge answer');
  return r.challenge;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return `${error.message}: ${code ? `${code} ` : ''}${cause.message}`;
    }
    return error.message;
  }
  return String(error);
}

function detailOf(body: string): string {
  try {
    const { detail, error } = fieldsOf(body);
    const textOrAbsent = (value: unknown): value is string | undefined =>
      value === undefined || typeof value === 'string';
    // A detail or error that is not text: the body itself is shown, as for any other answer.
    if (textOrAbsent(detail) && textOrAbsent(error)) return detail ?? error ?? '';
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

/** How long a connection to an agent may take before it counts as unreachable. */
const REACHABLE_TIMEOUT_MS = 2000;

/** Whether a TCP connection to the URL's host and port opens within `timeoutMs`. */
function tcpConnects(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolveConnect(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

interface Answer {
  status: number;
  body: string;
  signature: string | null;
}

async function exchange(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Answer> {
  const response = await fetch(url, { method, headers, redirect: 'error', signal });
  return {
    status: response.status,
    signature: response.headers.get(AGENT_HEADERS.signature),
    body: await response.text(),
  };
}

/**
 * What an answer other than a verified 200 means (`unreachable`, or `unknown-command` for a
 * signed 404 of that kind); undefined for a verified 200.
 */
function refusal(
  where: string,
  origin: string,
  answer: Answer,
  verified: boolean,
): HostCommandResult | undefined {
  const { status, body } = answer;
  const detail = detailOf(body);
  if (status === 401) {
    return {
      outcome: 'unreachable',
      detail: `${where} refused the request (401 unauthorized${
        detail && detail !== 'unauthorized' ? `: ${detail}` : ''
      })${verified ? '' : ': check the shared secret'}`,
    };
  }
  if (!verified) {
    return {
      outcome: 'unreachable',
      detail: `${where} at ${origin}: HTTP ${status} without a valid agent signature`,
    };
  }
  if (status === 200) return undefined;
  if (status === 404 && body.includes('"unknown-command"')) {
    return { outcome: 'unknown-command', detail };
  }
  const reasons: Record<number, string> = {
    403: 'refused: that address answers for another node',
    409: 'busy running another command',
  };
  return {
    outcome: 'unreachable',
    detail: `${where}: ${reasons[status] ?? `HTTP ${status}`}${detail ? ` (${detail})` : ''}`,
  };
}

/**
 * HostCommands through the node agents.
 *
 * - Each call is two signed requests to `endpointFor(node)` (see `signing.ts` and
 *   docs/agent.md): `GET /v1/challenge` (node and a fresh client nonce) for a challenge, then
 *   `POST /v1/run` signed over node, command, heal id, timestamp and that challenge. The
 *   timestamp is information for the agent's log: the worker's and the node's clocks need not
 *   agree. Both are signed with `secret()`, and both answers must carry the agent's signature.
 * - 200 `ok`/`failed` → the agent's exit code, output tail and duration; 404 with
 *   `unknown-command` → `unknown-command`.
 * - Everything else is `unreachable`, with the reason in `detail`: no endpoint, connection
 *   refused or reset, no answer within `timeoutMs` for both requests together (once the run
 *   request is sent the command may still be running: a retry with the same heal id waits for
 *   it or gets its recorded result, it never runs it twice), 401 (secret mismatch, or the
 *   challenge was refused), 403 (the address answers for another node), 409 (another command is
 *   running there), other statuses, a malformed body, or an answer whose signature does not
 *   prove it came from an agent holding the secret.
 * - Never throws.
 */
export function agentHostCommands(options: AgentClientOptions): HostCommands {
  const now = options.now ?? Date.now;
  return {
    async reachable(node: string): Promise<boolean> {
      try {
        const endpoint = await options.endpointFor(node);
        return (
          endpoint !== undefined && (await tcpConnects(new URL(endpoint), REACHABLE_TIMEOUT_MS))
        );
      } catch {
        return false;
      }
    },
    async run(node: string, command: HostCommand, healId: string): Promise<HostCommandResult> {
      const where = `agent on ${node}`;
      let endpoint: string | undefined;
      try {
        endpoint = await options.endpointFor(node);
      } catch (error) {
        return { outcome: 'unreachable', detail: `${where}: no address: ${describe(error)}` };
      }
      if (endpoint === undefined) {
        return { outcome: 'unreachable', detail: `${where}: no agent address known` };
      }
      let challengeUrl: URL;
      let runUrl: URL;
      let secret: string;
      let ask: ChallengeRequestFields;
      let askSignature: string;
      try {
        challengeUrl = new URL(CHALLENGE_PATH, endpoint);
        runUrl = new URL(RUN_PATH, endpoint);
        secret = options.secret();
        ask = { method: 'GET', path: challengeUrl.pathname, node, nonce: newNonce() };
        // Nothing is sent for a request that could not be signed.
        const bad = invalidField({
          method: 'POST',
          path: runUrl.pathname,
          node,
          command,
          healId,
          timestamp: 1,
          challenge: ask.nonce,
        });
        if (bad !== undefined) throw new Error(`cannot sign agent request: malformed ${bad}`);
        askSignature = signChallengeRequest(secret, ask);
      } catch (error) {
        return { outcome: 'unreachable', detail: `${where}: ${describe(error)}` };
      }
      const signal = AbortSignal.timeout(options.timeoutMs);

      // 1. A challenge, issued by the agent for this one request.
      let challenge: string;
      try {
        const answer = await exchange(
          challengeUrl,
          'GET',
          {
            [AGENT_HEADERS.node]: ask.node,
            [AGENT_HEADERS.nonce]: ask.nonce,
            [AGENT_HEADERS.signature]: askSignature,
          },
          signal,
        );
        const verified = verifyResponse(
          secret,
          ask.nonce,
          answer.status,
          answer.body,
          answer.signature,
        );
        const refused = refusal(where, challengeUrl.origin, answer, verified);
        if (refused) return refused;
        challenge = challengeOf(answer.body);
      } catch (error) {
        const reason = describe(error);
        return {
          outcome: 'unreachable',
          detail:
            reason === 'timed out'
              ? `${where}: no answer to the challenge request within ${options.timeoutMs} ms (nothing ran)`
              : error instanceof SyntaxError || error instanceof MalformedAnswer
                ? `${where}: malformed challenge`
                : `${where} at ${challengeUrl.origin}: ${reason}`,
        };
      }

      // 2. The run request, signed over that challenge.
      let fields: SignedFields;
      let signature: string;
      try {
        fields = {
          method: 'POST',
          path: runUrl.pathname,
          node,
          command,
          healId,
          timestamp: now(),
          challenge,
        };
        signature = signRequest(secret, fields);
      } catch (error) {
        return { outcome: 'unreachable', detail: `${where}: ${describe(error)}` };
      }
      let answer: Answer;
      try {
        answer = await exchange(
          runUrl,
          'POST',
          {
            [AGENT_HEADERS.node]: fields.node,
            [AGENT_HEADERS.command]: fields.command,
            [AGENT_HEADERS.healId]: fields.healId,
            [AGENT_HEADERS.timestamp]: String(fields.timestamp),
            [AGENT_HEADERS.challenge]: fields.challenge,
            [AGENT_HEADERS.signature]: signature,
          },
          signal,
        );
      } catch (error) {
        const reason = describe(error);
        return {
          outcome: 'unreachable',
          detail:
            reason === 'timed out'
              ? `${where}: no answer within ${options.timeoutMs} ms (the command may still be running)`
              : `${where} at ${runUrl.origin}: ${reason}`,
        };
      }
      const verified = verifyResponse(
        secret,
        fields.challenge,
        answer.status,
        answer.body,
        answer.signature,
      );
      const refused = refusal(where, runUrl.origin, answer, verified);
      if (refused) return refused;
      let parsed: RunResponse;
      try {
        parsed = runResponse(answer.body);
      } catch {
        return { outcome: 'unreachable', detail: `${where}: malformed answer` };
      }
      if (parsed.outcome === 'ok' && parsed.exitCode === 0) {
        return { outcome: 'ok', exitCode: 0, output: parsed.output, durationMs: parsed.durationMs };
      }
      return {
        outcome: 'failed',
        exitCode: parsed.exitCode,
        output: parsed.output,
        durationMs: parsed.durationMs,
      };
    },
  };
}

export interface DryRunCall {
  node: string;
  command: HostCommand;
  healId: string;
}

/**
 * The dry-run twin: answers `ok` (exit code 0, duration 0, an output saying what would have
 * run) without contacting any agent; `onRun` sees each call.
 */
export function dryRunHostCommands(
  options: { onRun?: (call: DryRunCall) => void } = {},
): HostCommands {
  return {
    // Dry run asks no agent: it cannot tell, and answering "reachable" assumes no fence.
    reachable: () => Promise.resolve(true),
    run(node: string, command: HostCommand, healId: string): Promise<HostCommandResult> {
      options.onRun?.({ node, command, healId });
      return Promise.resolve({
        outcome: 'ok',
        exitCode: 0,
        output: `dry run: would ask the agent on ${node} to run ${command} (heal ${healId})`,
        durationMs: 0,
      });
    },
  };
}

/**
 * The agent's base URL for a Node: `http://<InternalIP>:<port>` (the agent listens on the
 * node's IP with hostNetwork). IPv6 addresses are bracketed. Undefined when the Node has no
 * InternalIP.
 */
export function agentEndpointForNode(node: V1Node, port: number): string | undefined {
  const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!address) return undefined;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
