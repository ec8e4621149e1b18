// Readiness polling with a deadline and a useful failure message.
export class NotReadyError extends Error {
  readonly code = 'STACK_NOT_READY';
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `probe` until it returns a value other than undefined, or throws NotReadyError naming
 * `what` and the last probe error once `timeoutMs` has passed. `isDead` aborts early when the
 * process being waited for has already exited.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; isDead?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer yet';
  for (;;) {
    const dead = options.isDead?.();
    if (dead) throw new NotReadyError(`${what}: ${dead}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new NotReadyError(`${what} not ready after ${options.timeoutMs} ms (${lastError})`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

/** GET a URL and return the body when the status is 2xx; TLS verification off for loopback. */
export async function httpGet(url: string, init: RequestInit = {}): Promise<string | undefined> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  const body = await response.text();
  return response.ok ? body : undefined;
}
