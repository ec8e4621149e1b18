// Waiting that an AbortSignal cuts short, for the drain: a pause between polls or retries, and an
// API call raced against the signal. The drain's API calls are made without a signal of their own,
// so the race is what keeps an aborted drain from sitting on a slow call until the server answers.
// `asError` is here because the race rejects with Errors only, whatever the call threw.
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error('non-Error thrown', { cause: error });
}

/** Resolves after `ms`, or as soon as the signal aborts (never rejects). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The promise, or a rejection with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(error));
      },
    );
  });
}
