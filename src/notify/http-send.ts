// One HTTP POST of a notification to a sink (global fetch), with its own timeout. The answer is
// sorted into delivered, worth another try, or not.
import type { Delivery, SendResult } from './sink-queue.ts';

export interface HttpSinkTarget {
  url: string;
  headers?: Record<string, string>;
  timeoutMs: number;
}

/**
 * Whether another try could change a refusal: 408, 425, 429 and 5xx are the sink's passing
 * trouble; any other 4xx (bad URL, token, payload) will be refused the same way next time.
 */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** A Retry-After header in seconds or as an HTTP date, in ms from `now`; undefined if absent or bad. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Sends `delivery` to `target`; never throws. The URL stays out of every detail (Slack's holds a secret). */
export async function httpSend(
  target: HttpSinkTarget,
  delivery: Delivery,
  signal: AbortSignal,
): Promise<SendResult> {
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': delivery.contentType },
      body: delivery.body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(target.timeoutMs)]),
    });
    // The body is not needed; reading it to the end frees the connection for the next request.
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { ok: true };
    const after = retryAfterMs(res.headers.get('retry-after'), Date.now());
    return {
      ok: false,
      retry: retryableStatus(res.status),
      detail: `HTTP ${res.status}`,
      ...(after === undefined ? {} : { retryAfterMs: after }),
    };
  } catch (error) {
    return { ok: false, retry: true, detail: describe(error, target.timeoutMs) };
  }
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  if (error instanceof Error && error.name === 'AbortError') return 'aborted: notifier closing';
  // fetch's "fetch failed" says nothing; its cause (ECONNREFUSED, ENOTFOUND...) does.
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  if (cause?.code) return cause.code;
  return error instanceof Error ? error.message : String(error);
}
