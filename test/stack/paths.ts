// Where the local stack keeps its build cache and its per-run state.
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in test/stack/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Build cache for Go binaries, outside the repository so that clones share it and nothing
 * built is ever committed. Override with NODEHEAL_CACHE_DIR.
 */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return process.env.NODEHEAL_CACHE_DIR ?? join(base, 'nodeheal');
}

/** Where a daemonised `stack up` records what it started, so `down` and `env` can find it. */
export function stateFile(): string {
  return process.env.NODEHEAL_STACK_STATE ?? join(repoRoot, '.stack', 'state.json');
}
