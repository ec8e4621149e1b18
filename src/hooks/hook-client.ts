// The HTTP side of the step hooks: POSTs a signed JSON body to a hook and reports what came back
// (or why nothing did) for hook-contract.ts to read. Redirects are not followed (a signed body
// goes only where it was configured to), and the whole exchange is bounded by the hook's timeout.
import type { HookConfig } from './hook-config.ts';
import type { HookReply, HookRequestBody } from './hook-contract.ts';
import { HOOK_HEADERS, HOOK_SIGNATURE_SCHEME, signHookRequest } from './hook-signing.ts';

/** Most bytes of an answer's body that are read (the reason is cut far shorter anyway). */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface HookClientOptions {
  /** The current shared secret (the first line of NODEHEAL_HOOK_SECRET_FILE). */
  secret: () => string;
  now?: () => number;
  fetch?: typeof fetch;
}

/** Calls one hook: a signed POST of `body`; never throws. */
export type HookCaller = (
  hook: Pick<HookConfig, 'name' | 'url' | 'timeoutMs'>,
  body: HookRequestBody,
) => Promise<HookReply>;

export function hookCaller(options: HookClientOptions): HookCaller {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  return async (hook, body) => {
    const url = new URL(hook.url);
    const text = JSON.stringify(body);
    const timestamp = now();
    let signature: string;
    try {
      signature = signHookRequest(options.secret(), {
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        timestamp,
        body: text,
      });
    } catch (error) {
      return { kind: 'no-answer', reason: `cannot sign the request: ${messageOf(error)}` };
    }
    const signal = AbortSignal.timeout(hook.timeoutMs);
    try {
      const response = await doFetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'nodeheal',
          [HOOK_HEADERS.timestamp]: String(timestamp),
          [HOOK_HEADERS.signature]: signature,
          [HOOK_HEADERS.scheme]: HOOK_SIGNATURE_SCHEME,
          [HOOK_HEADERS.hook]: hook.name,
        },
        body: text,
      });
      const answer = await readLimited(response);
      return {
        kind: 'response',
        status: response.status,
        body: answer,
        retryAfter: response.headers.get('retry-after'),
      };
    } catch (error) {
      if (signal.aborted)
        return { kind: 'no-answer', reason: `no answer within ${hook.timeoutMs} ms` };
      return { kind: 'no-answer', reason: `connection error: ${messageOf(error)}` };
    }
  };
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

/** The most telling part of a fetch error: undici puts the system error (ECONNREFUSED) in `cause`. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error.message;
}
