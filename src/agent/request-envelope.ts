// The agent's end of the signed transport: the envelope a request's headers carry, its check
// against the accepted secrets, and JSON answers signed with the secret that verified it. The
// canonical texts and HMACs live in signing.ts, shared with the client; this file only moves them
// between node:http objects and those functions, so the request pipeline never reads a header.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AGENT_HEADERS,
  signResponse,
  verifyChallengeRequest,
  verifyRequest,
  type ChallengeRequestFields,
  type SignedFields,
  type VerifyResult,
} from './signing.ts';

/** The secret that verified the request, and what the answer's signature is bound to. */
export interface ResponseSigning {
  secret: string;
  binding: string;
}

/** What a request signed: a command to run under a challenge, or a request for a challenge. */
export type Envelope =
  | { kind: 'run'; fields: SignedFields; signature: string }
  | { kind: 'challenge'; fields: ChallengeRequestFields; signature: string };

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The signed envelope of a request: a run envelope when it carries a challenge header, else a
 * challenge-request envelope; undefined when a header it needs is missing.
 */
export function readEnvelope(req: IncomingMessage): Envelope | undefined {
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

/** Checks the envelope's signature against every accepted secret, by its kind's canonical text. */
export function verifyEnvelope(secrets: readonly string[], envelope: Envelope): VerifyResult {
  return envelope.kind === 'run'
    ? verifyRequest(secrets, envelope.fields, envelope.signature)
    : verifyChallengeRequest(secrets, envelope.fields, envelope.signature);
}

/**
 * Answers with a JSON body, signed when the request verified. A request that did not verify gets
 * an unsigned answer: there is no secret it proved it shares to sign with.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  signing?: ResponseSigning,
): void {
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
