// The intake's memory of the triage histories it last read or wrote, so that a repeat delivery
// (the steady state: Alertmanager repeats and HA twins) needs no read from Redis before its
// commit. The cache is only a guess: every commit still compares the value it started from with
// Redis (compare-and-set), and a conflict brings the current value back into the cache. A stale
// entry therefore costs one retry, never a wrong decision.

export interface CachedHistory<H> {
  /** The stored JSON (null when the key is absent): the commit's compare-and-set witness. */
  raw: string | null;
  history: H | undefined;
}

/**
 * A bounded map from history key to its last known value. When full, the entry written longest
 * ago goes first (not the least recently read: reads stay cheap, and a hot entry that is evicted
 * only costs one read from Redis before it is back). Bounded because a cluster's keys
 * (nodes × faults) are finite but a stream of alerts about nodes that no longer exist is not.
 */
export class HistoryCache<H> {
  readonly #entries = new Map<string, CachedHistory<H>>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`history cache capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CachedHistory<H> | undefined {
    return this.#entries.get(key);
  }

  set(key: string, entry: CachedHistory<H>): void {
    // Re-inserted, so that a Map's insertion order is the order of the last writes.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Forgets `key`: the next read goes to Redis (used when a write's outcome is unknown). */
  delete(key: string): void {
    this.#entries.delete(key);
  }
}
