// Remembers the nonces of accepted requests for as long as their timestamps are acceptable, so
// that a captured request cannot be sent again.
import { MAX_CLOCK_SKEW_MS } from './signing.ts';

export type NonceCheck = 'fresh' | 'replayed' | 'full';

/**
 * Nonce memory for replay protection.
 *
 * - A nonce is remembered until its request's timestamp leaves the acceptance window
 *   (timestamp + skew, plus a second of margin); a request outside the window is refused on its
 *   timestamp anyway, so forgetting it afterwards is safe.
 * - `check` answers `replayed` for a remembered nonce, otherwise remembers it and answers
 *   `fresh`.
 * - At `maxEntries` live nonces it answers `full` and remembers nothing: refusing is safe,
 *   forgetting a live nonce is not. Only requests with a valid signature reach it, so only a
 *   key holder can fill it. Expired nonces are dropped at most once per skew window.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #maxSkewMs: number;
  readonly #maxEntries: number;
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(options: { maxSkewMs?: number; maxEntries?: number } = {}) {
    this.#maxSkewMs = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  check(nonce: string, timestamp: number, now: number): NonceCheck {
    const expiry = this.#seen.get(nonce);
    if (expiry !== undefined && expiry >= now) return 'replayed';
    if (this.#seen.size >= this.#maxEntries || now - this.#prunedAt > this.#maxSkewMs) {
      this.#prune(now);
    }
    if (this.#seen.size >= this.#maxEntries) return 'full';
    this.#seen.set(nonce, timestamp + this.#maxSkewMs + 1000);
    return 'fresh';
  }

  /** How many nonces are remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  #prune(now: number): void {
    this.#prunedAt = now;
    for (const [nonce, expiry] of this.#seen) if (expiry < now) this.#seen.delete(nonce);
  }
}
