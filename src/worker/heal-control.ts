// An operator's cancel, seen by a running heal within a fraction of a second: one small watcher
// per heal reads the cancel request (`HealStore.cancelRequested`) every `pollMs` and aborts the
// heal's signal, which the drain (KubeDrainer stops evicting), the fence wait and every sleep of
// the runner already obey. Nothing polls Redis per eviction.
//
// The heal's signal aborts for two reasons the runner must tell apart:
// - the worker shuts down (`shuttingDown`): record nothing, hand the job back, resume later;
// - an operator cancelled the heal (`cancelledBy`): end it `cancelled` and undo nodeheal's cordon.
import type { HealStore } from '../store/index.ts';

/** How often a running heal looks for a cancel request. */
export const CANCEL_POLL_MS = 250;

/** The reason of a heal signal aborted by a cancel request. */
export class HealCancelledError extends Error {
  readonly code = 'HEAL_CANCELLED';
  readonly by: string;
  constructor(by: string) {
    super(`heal cancelled by ${by}`);
    this.by = by;
    this.name = 'HealCancelledError';
  }
}

export interface HealControl {
  /** Aborted when the worker shuts down or the heal is cancelled: pass it to what acts and waits. */
  readonly signal: AbortSignal;
  /** The worker is shutting down: the heal is interrupted, not cancelled. */
  readonly shuttingDown: () => boolean;
  /** Who cancelled the heal, once the watcher (or `check`) saw the request. */
  readonly cancelledBy: () => string | undefined;
  /** Reads the cancel request now (between commands); aborts the signal when there is one. */
  readonly check: () => Promise<string | undefined>;
  /** Stops the watcher (the heal ended or was handed back). */
  readonly stop: () => void;
}

export function watchHeal(
  store: Pick<HealStore, 'cancelRequested'>,
  healId: string,
  shutdown: AbortSignal,
  options: { pollMs?: number; onError?: (error: unknown) => void } = {},
): HealControl {
  const cancel = new AbortController();
  const signal = AbortSignal.any([shutdown, cancel.signal]);
  let by: string | undefined;
  const seen = (who: string | undefined) => {
    if (who === undefined || by !== undefined) return;
    by = who;
    cancel.abort(new HealCancelledError(who));
  };
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight || by !== undefined || shutdown.aborted) return;
    inFlight = true;
    store
      .cancelRequested(healId)
      .then(seen, (error: unknown) => options.onError?.(error))
      .finally(() => (inFlight = false));
  }, options.pollMs ?? CANCEL_POLL_MS);
  timer.unref();
  return {
    signal,
    shuttingDown: () => shutdown.aborted,
    cancelledBy: () => by,
    check: async () => {
      if (by === undefined) seen(await store.cancelRequested(healId));
      return by;
    },
    stop: () => clearInterval(timer),
  };
}
