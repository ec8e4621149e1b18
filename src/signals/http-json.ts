// One GET of a JSON API (Prometheus, Alertmanager) with a timeout, validated with a schema:
// anything but a valid 2xx answer throws, with what went wrong, so that the gate asking holds.
import type { z } from 'zod';

export async function getJson<T extends z.ZodType>(
  url: string,
  schema: T,
  timeoutMs: number,
): Promise<z.infer<T>> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`${new URL(url).origin}: ${cause ?? why}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${new URL(url).origin} answered ${response.status}: ${text.slice(0, 200)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${new URL(url).origin} answered something that is not JSON`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new Error(`${new URL(url).origin} answered an unexpected shape: ${parsed.error.message}`);
  }
  return parsed.data;
}

/**
 * Shares one answer between the heals that ask within `ttlMs` (many heals held by the same
 * blocker would otherwise each query Prometheus every few seconds). Failures are not kept.
 */
export function cached<T>(ttlMs: number, now: () => number, load: () => Promise<T>) {
  let entry: { at: number; value: Promise<T> } | undefined;
  return async (): Promise<T> => {
    const t = now();
    if (entry && t - entry.at < ttlMs) return await entry.value;
    const value = load();
    entry = { at: t, value };
    try {
      return await value;
    } catch (error) {
      entry = undefined;
      throw error;
    }
  };
}
