// The shared agent secret, read from a file (a mounted Kubernetes Secret) and re-read when the
// file changes, so that a rotated Secret is picked up without a restart.
import { readFileSync, statSync } from 'node:fs';

/** Shorter secrets are refused: HMAC keys need entropy, and `changeme` is not a key. */
export const MIN_SECRET_LENGTH = 32;

export class AgentSecretError extends Error {
  readonly code = 'AGENT_SECRET_INVALID';
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AgentSecretError';
    this.path = path;
  }
}

/**
 * Parses the secret file's text.
 *
 * - One secret per non-empty line; surrounding whitespace is trimmed.
 * - The first line is the current secret (clients sign with it); agents also accept the others,
 *   so a secret can be rotated without a moment where client and agent disagree: add the new
 *   secret as a second line, roll out, move it to the first line, roll out, drop the old one.
 * - No secret, or any secret shorter than `MIN_SECRET_LENGTH` characters, is an error.
 */
export function parseSecrets(text: string, path: string): string[] {
  const secrets = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (secrets.length === 0) throw new AgentSecretError(path, `agent secret file ${path} is empty`);
  if (secrets.some((secret) => secret.length < MIN_SECRET_LENGTH)) {
    throw new AgentSecretError(
      path,
      `agent secret file ${path}: every secret must be at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  return secrets;
}

export interface AgentSecretFileOptions {
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
  /** Minimum milliseconds between two looks at the file; default 1000. */
  checkIntervalMs?: number;
}

/**
 * The agent secrets of one file.
 *
 * - Read when created: a missing, unreadable or invalid file throws `AgentSecretError` then, so a
 *   misconfigured agent does not start.
 * - Re-read when the file's mtime, size or inode changes (a Secret volume swaps a symlink), at
 *   most once per `checkIntervalMs`.
 * - When a later read fails, the last good secrets stay in use and the error is kept for
 *   `lastError()`: a half-written rotation must not lock nodeheal out of every node.
 * - Values never appear in `toString()` or JSON.
 */
export class AgentSecretFile {
  readonly path: string;
  readonly #now: () => number;
  readonly #interval: number;
  #secrets: string[] = [];
  #stamp = '';
  #checkedAt = Number.NEGATIVE_INFINITY;
  #error: AgentSecretError | undefined;

  constructor(path: string, options: AgentSecretFileOptions = {}) {
    this.path = path;
    this.#now = options.now ?? Date.now;
    this.#interval = options.checkIntervalMs ?? 1000;
    this.#checkedAt = this.#now();
    this.#refresh();
    if (this.#error) throw this.#error;
  }

  /** Every accepted secret, the current one first. */
  all(): string[] {
    const now = this.#now();
    if (now - this.#checkedAt >= this.#interval) {
      this.#checkedAt = now;
      this.#refresh();
    }
    return this.#secrets;
  }

  /** The current secret (the first line): what a client signs with. */
  current(): string {
    const [first] = this.all();
    if (first === undefined) throw new AgentSecretError(this.path, 'no agent secret');
    return first;
  }

  /** The problem with the file at the last look, if there was one. */
  lastError(): AgentSecretError | undefined {
    return this.#error;
  }

  toString(): string {
    return `AgentSecretFile(${this.path})`;
  }

  toJSON(): { source: string } {
    return { source: this.path };
  }

  #refresh(): void {
    try {
      const stats = statSync(this.path);
      const stamp = `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
      if (stamp === this.#stamp) return;
      this.#secrets = parseSecrets(readFileSync(this.path, 'utf8'), this.path);
      this.#stamp = stamp;
      this.#error = undefined;
    } catch (cause) {
      this.#error =
        cause instanceof AgentSecretError
          ? cause
          : new AgentSecretError(
              this.path,
              `agent secret file ${this.path} cannot be read: ${(cause as Error).message}`,
              { cause },
            );
    }
  }
}
