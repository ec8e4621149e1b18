// Webhook authentication helpers, framework-free: check an Authorization header against the
// configured bearer token and/or basic credentials in constant time, build the WWW-Authenticate
// challenge for a 401, and read a secret from a value or from a file that may be rotated.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export interface WebhookCredentials {
  bearerToken?: string | undefined;
  basic?: { username: string; password: string } | undefined;
}

export type AuthResult = 'ok' | 'missing' | 'invalid';

/** Constant-time equality: both sides are hashed first, so neither length nor content leaks. */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks an Authorization header.
 *
 * - No header, or only whitespace: `missing`.
 * - `Bearer <token>` (scheme case-insensitive): `ok` when a bearer token is configured and equal.
 * - `Basic <base64 of user:password>`: `ok` when basic credentials are configured and both parts
 *   are equal; malformed base64 or no `:` is `invalid`. Username and password are both compared
 *   every time (no early exit).
 * - Any other scheme, a scheme that is not configured, or an empty credential: `invalid`.
 * - Empty configured secrets count as not configured; with nothing configured nothing is `ok`.
 * - Comparisons are constant-time over sha256 digests.
 */
export function checkAuthorization(
  header: string | undefined,
  creds: WebhookCredentials,
): AuthResult {
  if (header === undefined || header.trim() === '') return 'missing';
  const match = /^\s*(\S+)(?:\s+(.*?))?\s*$/s.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  const credential = match?.[2] ?? '';
  if (credential === '') return 'invalid';

  if (scheme === 'bearer') {
    const expected = creds.bearerToken;
    if (!expected) return 'invalid';
    return safeEqual(credential, expected) ? 'ok' : 'invalid';
  }

  if (scheme === 'basic') {
    const expected = creds.basic;
    if (!expected || !expected.username || !expected.password) return 'invalid';
    if (!BASE64.test(credential)) return 'invalid';
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'invalid';
    const userOk = safeEqual(decoded.slice(0, colon), expected.username);
    const passwordOk = safeEqual(decoded.slice(colon + 1), expected.password);
    return userOk && passwordOk ? 'ok' : 'invalid';
  }

  return 'invalid';
}

/**
 * WWW-Authenticate values for a 401, one per configured scheme (send each as its own header):
 * `Bearer realm="nodeheal"` and/or `Basic realm="nodeheal", charset="UTF-8"`. With nothing
 * configured, the bearer challenge alone.
 */
export function wwwAuthenticateHeader(creds: WebhookCredentials, realm = 'nodeheal'): string[] {
  const quotedRealm = `"${realm.replace(/["\\]/g, '\\$&')}"`;
  const values: string[] = [];
  if (creds.bearerToken || !creds.basic) values.push(`Bearer realm=${quotedRealm}`);
  if (creds.basic) values.push(`Basic realm=${quotedRealm}, charset="UTF-8"`);
  return values;
}

export type SecretErrorCode =
  'SECRET_FILE_MISSING' | 'SECRET_FILE_EMPTY' | 'SECRET_FILE_UNREADABLE';

export class SecretError extends Error {
  readonly code: SecretErrorCode;
  readonly path: string;

  constructor(code: SecretErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretError';
    this.code = code;
    this.path = path;
  }
}

export interface SecretFileOptions {
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
  /** Minimum milliseconds between two checks of the file; default 1000. */
  checkIntervalMs?: number;
}

/** Strips trailing newlines (`echo token > file` adds one); anything else is kept. */
function trimNewlines(value: string): string {
  return value.replace(/[\r\n]+$/, '');
}

/**
 * A secret read from a literal value or from a file (a mounted Kubernetes Secret).
 *
 * - A literal never changes.
 * - A file is read when the source is created (an error then is thrown at startup) and re-read
 *   when its mtime, size or inode changes, so a rotated Secret is picked up without a restart.
 *   The file is checked at most once per `checkIntervalMs` (1 s); in between `get()` answers from
 *   memory.
 * - Trailing newlines are trimmed.
 * - A missing, unreadable or empty file throws a `SecretError` naming the path and the problem,
 *   from `get()` as well, until the file is fixed (the next check after that recovers).
 * - The value never appears in `toString()` or JSON.
 */
export class SecretSource {
  readonly #path: string | undefined;
  readonly #now: () => number;
  readonly #interval: number;
  #value = '';
  #error: SecretError | undefined;
  #stamp = '';
  #checkedAt = Number.NEGATIVE_INFINITY;

  private constructor(
    value: string | undefined,
    path: string | undefined,
    options: SecretFileOptions,
  ) {
    this.#path = path;
    this.#now = options.now ?? Date.now;
    this.#interval = options.checkIntervalMs ?? 1000;
    if (value !== undefined) this.#value = value;
  }

  /** A fixed secret. */
  static fromValue(value: string): SecretSource {
    return new SecretSource(value, undefined, {});
  }

  /** A secret file; throws `SecretError` now if it is missing, unreadable or empty. */
  static fromFile(path: string, options: SecretFileOptions = {}): SecretSource {
    const source = new SecretSource(undefined, path, options);
    source.get();
    return source;
  }

  /** Where the secret comes from, for logs (never the value). */
  describe(): string {
    return this.#path === undefined ? 'inline value' : `file ${this.#path}`;
  }

  toString(): string {
    return `SecretSource(${this.describe()})`;
  }

  toJSON(): { source: string } {
    return { source: this.describe() };
  }

  /** The current secret; throws `SecretError` when the file is missing, unreadable or empty. */
  get(): string {
    const path = this.#path;
    if (path === undefined) return this.#value;
    const now = this.#now();
    if (now - this.#checkedAt >= this.#interval) {
      this.#checkedAt = now;
      this.#refresh(path);
    }
    if (this.#error) throw this.#error;
    return this.#value;
  }

  #refresh(path: string): void {
    try {
      const stats = statSync(path);
      const stamp = `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
      if (stamp === this.#stamp && this.#error === undefined) return;
      const value = trimNewlines(readFileSync(path, 'utf8'));
      if (value === '') {
        this.#fail(new SecretError('SECRET_FILE_EMPTY', path, `secret file ${path} is empty`));
        return;
      }
      this.#value = value;
      this.#stamp = stamp;
      this.#error = undefined;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        this.#fail(
          new SecretError('SECRET_FILE_MISSING', path, `secret file ${path} does not exist`, {
            cause,
          }),
        );
      } else {
        this.#fail(
          new SecretError(
            'SECRET_FILE_UNREADABLE',
            path,
            `secret file ${path} cannot be read: ${(cause as Error).message}`,
            { cause },
          ),
        );
      }
    }
  }

  #fail(error: SecretError): void {
    this.#error = error;
    this.#value = '';
    this.#stamp = '';
  }
}
