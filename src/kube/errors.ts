// Kubernetes API errors, mapped once from `ApiException.code` (and network failures) to a few
// classes with a stable `code`, so that callers decide on state, retry or give-up without looking
// at HTTP statuses:
//
// - 404 → NotFoundError: state, not failure (the object is gone; callers usually return `absent`).
// - 409 → ConflictError: re-read and retry (optimistic concurrency, AlreadyExists, uid precondition).
// - 429 → TooManyRequestsError: back off and retry; from the Eviction API it means a PDB said no.
// - 5xx, 408 and network failures → TransientError: retry with backoff.
// - 400, 401, 403, 422 and any other status → PermanentError: retrying will not help.
import { ApiException } from '@kubernetes/client-node';

export type KubeErrorCode =
  | 'KUBE_NOT_FOUND'
  | 'KUBE_CONFLICT'
  | 'KUBE_TOO_MANY_REQUESTS'
  | 'KUBE_TRANSIENT'
  | 'KUBE_PERMANENT';

export interface KubeErrorDetails {
  /** HTTP status, absent for network failures. */
  status?: number;
  /** `Status.reason` from the API server (NotFound, AlreadyExists, TooManyRequests...). */
  reason?: string;
  /** `Retry-After` (or `Status.details.retryAfterSeconds`) in milliseconds, when the server sent one. */
  retryAfterMs?: number;
  cause?: unknown;
}

export abstract class KubeError extends Error {
  abstract readonly code: KubeErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: KubeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status;
    this.reason = details.reason;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** Whether the same call may succeed later (conflict, throttling, server or network trouble). */
  get retryable(): boolean {
    return (
      this.code === 'KUBE_CONFLICT' ||
      this.code === 'KUBE_TOO_MANY_REQUESTS' ||
      this.code === 'KUBE_TRANSIENT'
    );
  }
}

/** 404: the object does not exist. State, not an error, for most callers. */
export class NotFoundError extends KubeError {
  readonly code = 'KUBE_NOT_FOUND';
}
/** 409: conflict (stale resourceVersion, AlreadyExists, failed precondition): re-read and retry. */
export class ConflictError extends KubeError {
  readonly code = 'KUBE_CONFLICT';
}
/** 429: throttled, or (Eviction API) a PodDisruptionBudget forbids the eviction now. */
export class TooManyRequestsError extends KubeError {
  readonly code = 'KUBE_TOO_MANY_REQUESTS';
}
/** 5xx, 408 or a network failure: retry with backoff. */
export class TransientError extends KubeError {
  readonly code = 'KUBE_TRANSIENT';
}
/** 400, 401, 403, 422 and other statuses: the request will not succeed as it is. */
export class PermanentError extends KubeError {
  readonly code = 'KUBE_PERMANENT';
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { retryAfterSeconds?: number };
}

function parseStatusBody(body: unknown): StatusBody {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  if (value && typeof value === 'object') return value;
  return {};
}

function retryAfterMs(headers: Record<string, string>, status: StatusBody): number | undefined {
  const header = headers['retry-after'] ?? headers['Retry-After'];
  const seconds = header !== undefined ? Number(header) : status.details?.retryAfterSeconds;
  return seconds !== undefined && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = error.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** A failure to reach the API server at all (undici's `fetch failed`, socket errors). */
function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = errorCode(e);
    if (code && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_'))) return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/** The class for an HTTP status (the one mapping of statuses in nodeheal). */
export function classForStatus(
  status: number,
): new (message: string, details?: KubeErrorDetails) => KubeError {
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return TooManyRequestsError;
  if (status >= 500 || status === 408) return TransientError;
  return PermanentError;
}

/**
 * Maps an error thrown by @kubernetes/client-node to a KubeError, prefixing `context` (what was
 * being done: "evict pod ns/name"). An error that is already a KubeError is returned as it is;
 * errors that come neither from the API server nor from the network (an AbortSignal's reason, a
 * bug) are returned unchanged, so that aborts and programming errors keep their identity.
 */
export function toKubeError(error: unknown, context: string): Error {
  if (error instanceof KubeError) return error;
  if (error instanceof ApiException) {
    const api = error as ApiException<unknown>;
    const body = parseStatusBody(api.body);
    const Class = classForStatus(api.code);
    const detail = body.message ?? body.reason ?? `HTTP ${api.code}`;
    const details: KubeErrorDetails = { status: api.code, cause: error };
    if (body.reason) details.reason = body.reason;
    const retryAfter = retryAfterMs(api.headers ?? {}, body);
    if (retryAfter !== undefined) details.retryAfterMs = retryAfter;
    return new Class(`${context}: ${detail} (HTTP ${api.code})`, details);
  }
  if (isNetworkError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    const code = errorCode(error instanceof Error ? (error.cause ?? error) : error);
    return new TransientError(`${context}: ${message}${code ? ` (${code})` : ''}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(`${context}: ${String(error)}`);
}

/** Runs an API call; any failure is rethrown mapped (see toKubeError). */
export async function kubeCall<T>(context: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toKubeError(error, context);
  }
}

/** Runs an API call; 404 becomes `undefined` (state), other failures are rethrown mapped. */
export async function kubeGet<T>(context: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const mapped = toKubeError(error, context);
    if (mapped instanceof NotFoundError) return undefined;
    throw mapped;
  }
}

export function isNotFound(error: unknown): boolean {
  return toKubeError(error, '') instanceof NotFoundError;
}

export function isConflict(error: unknown): boolean {
  return toKubeError(error, '') instanceof ConflictError;
}
