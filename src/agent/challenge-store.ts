// The challenges an agent has issued and not yet seen used: replay protection that does not
// depend on the agent's wall clock agreeing with the worker's. A run request must be signed over
// a challenge from this set; the first use removes it, so a captured request cannot run again.
import { newNonce } from './signing.ts';

/** How long an issued challenge may wait for its run request (agent's monotonic clock). */
export const CHALLENGE_TTL_MS = 30_000;

/** How many issued, unused challenges the agent keeps at most (oldest dropped first). */
export const MAX_OUTSTANDING_CHALLENGES = 1024;

export type ChallengeCheck = 'ok' | 'unknown' | 'expired';

export interface ChallengeStoreOptions {
  ttlMs?: number;
  maxOutstanding?: number;
  /** The challenge generator (128 random bits, hex, by default); injectable for tests. */
  random?: () => string;
}

/**
 * Issued challenges, by the agent's **monotonic** clock (`now` is `performance.now()` in the
 * agent: a stepped wall clock neither expires nor revives a challenge).
 *
 * - `issue(now)` makes a fresh random challenge valid until `now + ttlMs`.
 * - `consume(challenge, now)` answers `ok` once for an issued challenge within its lifetime;
 *   `expired` after it (`now > expiry`); `unknown` for anything never issued, already used, or
 *   dropped. Every answer forgets the challenge: it is good for one request, whatever happens.
 * - At most `maxOutstanding` unused challenges are kept: issuing one more drops the oldest
 *   (which also expires first). Forgetting a challenge only ever refuses a request, never
 *   accepts one twice, so the memory bound is safe; a flood of challenge requests can only make
 *   a client's challenge unknown (ask again), not let anything run.
 * - Expired challenges are dropped when the next one is issued.
 */
export class ChallengeStore {
  readonly #issued = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxOutstanding: number;
  readonly #random: () => string;

  constructor(options: ChallengeStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? CHALLENGE_TTL_MS;
    this.#maxOutstanding = Math.max(1, options.maxOutstanding ?? MAX_OUTSTANDING_CHALLENGES);
    this.#random = options.random ?? newNonce;
  }

  /** The lifetime of a challenge, in milliseconds. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** How many issued challenges are waiting to be used. */
  get size(): number {
    return this.#issued.size;
  }

  issue(now: number): string {
    for (const [challenge, expiry] of this.#issued) {
      // Insertion order is expiry order (one lifetime for all): stop at the first live one.
      if (expiry >= now) break;
      this.#issued.delete(challenge);
    }
    while (this.#issued.size >= this.#maxOutstanding) {
      const oldest = this.#issued.keys().next().value;
      if (oldest === undefined) break;
      this.#issued.delete(oldest);
    }
    const challenge = this.#random();
    this.#issued.delete(challenge); // (a repeat of 128 random bits: issued anew, at the end)
    this.#issued.set(challenge, now + this.#ttlMs);
    return challenge;
  }

  consume(challenge: string, now: number): ChallengeCheck {
    const expiry = this.#issued.get(challenge);
    if (expiry === undefined) return 'unknown';
    this.#issued.delete(challenge);
    return now <= expiry ? 'ok' : 'expired';
  }
}
