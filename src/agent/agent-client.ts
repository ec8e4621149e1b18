// The client side of HostCommands: nodeheal asks the node agent on the faulty node to run a
// catalogued host command, with a signed request, and maps every answer (or the lack of one)
// onto a HostCommandResult. Plus its dry-run twin, and the agent's address for a Node.
import { connect } from 'node:net';
import type { V1Node } from '@kubernetes/client-node';
import { z } from 'zod';
import type { HostCommand, HostCommandResult, HostCommands } from '../actions/interfaces.ts';
import {
  AGENT_HEADERS,
  RUN_PATH,
  newNonce,
  signRequest,
  verifyResponse,
  type SignedFields,
} from './signing.ts';

export interface AgentClientOptions {
  /** The current shared secret (re-read by the caller when its file changes). */
  secret: () => string;
  /** The agent's base URL for a node, such as `http://10.0.3.7:9180`; undefined when unknown. */
  endpointFor: (node: string) => Promise<string | undefined>;
  /** Give up waiting for the agent after this long; longer than the longest catalog timeout. */
  timeoutMs: number;
  /** Wall clock in Unix milliseconds; injectable for tests. */
  now?: () => number;
}

const runResponseSchema = z.object({
  outcome: z.enum(['ok', 'failed']),
  exitCode: z.int(),
  output: z.string(),
  durationMs: z.number().nonnegative(),
});

const detailSchema = z.object({ detail: z.string().optional(), error: z.string().optional() });

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
    const parsed = detailSchema.safeParse(JSON.parse(body));
    if (parsed.success) return parsed.data.detail ?? parsed.data.error ?? '';
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

/**
 * HostCommands through the node agents.
 *
 * - Each call signs a fresh envelope (node, command, heal id, timestamp, nonce; see
 *   `signing.ts`) with `secret()` and POSTs it to `endpointFor(node)` + `/v1/run`.
 * - 200 `ok`/`failed` → the agent's exit code, output tail and duration; 404 with
 *   `unknown-command` → `unknown-command`.
 * - Everything else is `unreachable`, with the reason in `detail`: no endpoint, connection
 *   refused or reset, no answer within `timeoutMs` (the command may still be running: a retry
 *   with the same heal id waits for it or gets its recorded result, it never runs it twice),
 *   401 (secret or clock mismatch), 403 (the address answers for another node), 409 (another
 *   command is running there), other statuses, a malformed body, or a response whose signature
 *   does not prove it came from an agent holding the secret.
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
      let url: URL;
      let secret: string;
      let fields: SignedFields;
      let signature: string;
      try {
        url = new URL(RUN_PATH, endpoint);
        secret = options.secret();
        fields = {
          method: 'POST',
          path: url.pathname,
          node,
          command,
          healId,
          timestamp: now(),
          nonce: newNonce(),
        };
        signature = signRequest(secret, fields);
      } catch (error) {
        return { outcome: 'unreachable', detail: `${where}: ${describe(error)}` };
      }

      let status: number;
      let body: string;
      let responseSignature: string | null;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            [AGENT_HEADERS.node]: fields.node,
            [AGENT_HEADERS.command]: fields.command,
            [AGENT_HEADERS.healId]: fields.healId,
            [AGENT_HEADERS.timestamp]: String(fields.timestamp),
            [AGENT_HEADERS.nonce]: fields.nonce,
            [AGENT_HEADERS.signature]: signature,
          },
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        status = response.status;
        responseSignature = response.headers.get(AGENT_HEADERS.signature);
        body = await response.text();
      } catch (error) {
        const reason = describe(error);
        return {
          outcome: 'unreachable',
          detail:
            reason === 'timed out'
              ? `${where}: no answer within ${options.timeoutMs} ms (the command may still be running)`
              : `${where} at ${url.origin}: ${reason}`,
        };
      }

      if (status === 401) {
        return {
          outcome: 'unreachable',
          detail: `${where} refused the request (401 unauthorized${
            detailOf(body) && detailOf(body) !== 'unauthorized' ? `: ${detailOf(body)}` : ''
          }): check the shared secret and the clocks`,
        };
      }
      if (!verifyResponse(secret, fields.nonce, status, body, responseSignature)) {
        return {
          outcome: 'unreachable',
          detail: `${where} at ${url.origin}: HTTP ${status} without a valid agent signature`,
        };
      }
      if (status === 200) {
        let parsed: z.infer<typeof runResponseSchema>;
        try {
          parsed = runResponseSchema.parse(JSON.parse(body));
        } catch {
          return { outcome: 'unreachable', detail: `${where}: malformed answer` };
        }
        if (parsed.outcome === 'ok' && parsed.exitCode === 0) {
          return {
            outcome: 'ok',
            exitCode: 0,
            output: parsed.output,
            durationMs: parsed.durationMs,
          };
        }
        return {
          outcome: 'failed',
          exitCode: parsed.exitCode,
          output: parsed.output,
          durationMs: parsed.durationMs,
        };
      }
      if (status === 404 && body.includes('"unknown-command"')) {
        return { outcome: 'unknown-command', detail: detailOf(body) };
      }
      const reasons: Record<number, string> = {
        403: 'refused: that address answers for another node',
        409: 'busy running another command',
      };
      return {
        outcome: 'unreachable',
        detail: `${where}: ${reasons[status] ?? `HTTP ${status}`}${
          detailOf(body) ? ` (${detailOf(body)})` : ''
        }`,
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
