// A seeded random source for the chaos rounds: the seed is printed, so a round that went wrong
// can be played again with the same timing (CHAOS_SEED).

export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
}

/** mulberry32: small, fast and good enough to spread kill moments. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, between: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

/** CHAOS_SEED, or a fresh one. */
export function rngFromEnv(): Rng {
  const raw = process.env.CHAOS_SEED;
  return seededRng(raw ? Number(raw) : Math.floor(Math.random() * 2 ** 31));
}
