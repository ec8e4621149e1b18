// An operator's cancel, seen by a running heal within a fraction of a second: one small watcher
// per heal reads the cancel request (`HealStore.cancelRequested`) every `pollMs` and aborts the
// heal's signal, which the drain (KubeDrainer stops evicting), the fence wait and every sleep of
// the runner already obey. Nothing polls Redis per eviction.
//
// The same watcher looks at the node for an operator's uncordon of nodeheal's own cordon, which
// ends the heal as a cancel does (the drain stops at once), but leaves the node as it is.
//
// The heal's signal aborts for three reasons the runner must tell apart:
// - the worker shuts down, or the heal may have lost its node lock (`shuttingDown`; the runner
//   passes both in as `shutdown`: lease-watchdog.ts): record nothing, hand the job back, resume
//   later;
// - an operator cancelled the heal (`cancelledBy`): end it `cancelled` and undo nodeheal's cordon;
// - an operator uncordoned the node (`uncordonedBy`): end it `cancelled`, the node as they left it.
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

/** The reason of a heal signal aborted because someone else lifted nodeheal's cordon. */
export class HealUncordonedError extends Error {
  readonly code = 'HEAL_UNCORDONED';
  readonly by: string;
  constructor(by: string) {
    super(`nodeheal's cordon lifted by ${by}`);
    this.by = by;
    this.name = 'HealUncordonedError';
  }
}

/** How often a running heal looks at its node for an operator's uncordon. */
export const UNCORDON_POLL_MS = 2000;

export interface HealControl {
  /** Aborted when the worker shuts down or the heal is cancelled: pass it to what acts and waits. */
  readonly signal: AbortSignal;
  /** The worker is shutting down (or the lease is lost): the heal is interrupted, not cancelled. */
  readonly shuttingDown: () => boolean;
  /** Who cancelled the heal, once the watcher (or `check`) saw the request. */
  readonly cancelledBy: () => string | undefined;
  /** Who lifted nodeheal's cordon, once the watcher saw it: the heal ends, as they decided. */
  readonly uncordonedBy: () => string | undefined;
  /** Reads the cancel request now (between commands); aborts the signal when there is one. */
  readonly check: () => Promise<string | undefined>;
  /** Stops the watcher (the heal ended or was handed back). */
  readonly stop: () => void;
}

export function watchHeal(
  store: Pick<HealStore, 'cancelRequested'>,
  healId: string,
  shutdown: AbortSignal,
  options: {
    pollMs?: number;
    onError?: (error: unknown) => void;
    /** Who lifted nodeheal's own cordon on the heal's node, if someone did (read each poll). */
    lookForUncordon?: () => Promise<string | undefined>;
    uncordonPollMs?: number;
  } = {},
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
  // Slower than the cancel watch: it reads the Node from the apiserver.
  let uncordoner: string | undefined;
  let looking = false;
  const lookForUncordon = options.lookForUncordon;
  const uncordonTimer = lookForUncordon
    ? setInterval(() => {
        if (looking || signal.aborted) return;
        looking = true;
        lookForUncordon()
          .then(
            (who) => {
              if (who === undefined || signal.aborted) return;
              uncordoner = who;
              cancel.abort(new HealUncordonedError(who));
            },
            (error: unknown) => options.onError?.(error),
          )
          .finally(() => (looking = false));
      }, options.uncordonPollMs ?? UNCORDON_POLL_MS)
    : undefined;
  uncordonTimer?.unref();
  return {
    signal,
    shuttingDown: () => shutdown.aborted,
    cancelledBy: () => by,
    uncordonedBy: () => uncordoner,
    check: async () => {
      if (by === undefined) seen(await store.cancelRequested(healId));
      return by;
    },
    stop: () => {
      clearInterval(timer);
      if (uncordonTimer) clearInterval(uncordonTimer);
    },
  };
}
