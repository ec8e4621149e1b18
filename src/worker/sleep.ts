// Waiting inside a heal: every wait ends early on a cancel or a shutdown (the signal), and a
// step held by a pause goes on as soon as the pause lifts.
import { CANCEL_POLL_MS } from './heal-control.ts';
import type { RunnerDeps } from './runner-deps.ts';

/**
 * Sleeps until `until` or the signal aborts; with `whilePaused`, also wakes as soon as the pause
 * lifts (looked at every `cancelPollMs`), so that a held step goes on right after a resume.
 */
export async function sleepUntil(
  until: number,
  deps: RunnerDeps,
  signal: AbortSignal,
  whilePaused = false,
): Promise<void> {
  if (!whilePaused) return await sleep(until - deps.now().getTime(), signal);
  for (;;) {
    const left = until - deps.now().getTime();
    if (left <= 0 || signal.aborted) return;
    await sleep(Math.min(left, deps.cancelPollMs ?? CANCEL_POLL_MS), signal);
    if (signal.aborted || (await deps.store.paused()) === undefined) return;
  }
}

export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  await new Promise<void>((resolveSleep) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
