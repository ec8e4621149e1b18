// The step hooks' contract, pure: what nodeheal sends (the heal's record, the pods a drain would
// evict, the step's result), how an answer is read (go, veto, unsure) and when a held step is
// asked again. The HTTP is in hook-client.ts; docs/hooks.md is the contract for hook authors.
import type { V1Pod } from '@kubernetes/client-node';
import { planDrain } from '../actions/index.ts';
import type { HookPhase } from './hook-config.ts';

/** `apiVersion` of every hook request body; a change that breaks receivers gets a new one. */
export const HOOK_API_VERSION = 'nodeheal.io/hook/v1';

/** A pod a drain of the node would evict. */
export interface HookPod {
  namespace: string;
  name: string;
  /** The kind of its controller (`ReplicaSet`, `StatefulSet`, `Job`...); null without one. */
  ownerKind: string | null;
  ownerName: string | null;
}

/** The heal step a hook is asked about or told of. */
export interface HookStep {
  healId: string;
  node: string;
  pool: string;
  fault: string;
  step: number;
  action: string;
}

export interface HookResult {
  outcome: 'done' | 'failed';
  detail: string;
}

export interface HookRequestBody extends HookStep {
  apiVersion: typeof HOOK_API_VERSION;
  phase: HookPhase;
  hook: string;
  pods: HookPod[];
  /** Post-hooks only: how the step ended. */
  result?: HookResult;
  /** When nodeheal sent it (ISO 8601). */
  sentAt: string;
}

/**
 * The pods a drain of the node would evict, from the node's own pod list (pure).
 *
 * - The drain's own plan decides: mirror, DaemonSet, finished and terminating pods are left out.
 * - Every pod the drain would evict is listed, even when a drain policy would block the drain.
 * - Sorted by namespace, then name.
 */
export function podsToEvict(podsOnNode: readonly V1Pod[]): HookPod[] {
  const plan = planDrain(podsOnNode, { emptyDir: 'evict', unmanaged: 'evict' });
  return plan.evict
    .map((pod) => {
      const owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
      return {
        namespace: pod.metadata?.namespace ?? '',
        name: pod.metadata?.name ?? '',
        ownerKind: owner?.kind ?? null,
        ownerName: owner?.name ?? null,
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The JSON body of a hook request (pure; `now` in epoch ms). */
export function hookRequestBody(
  hook: string,
  phase: HookPhase,
  step: HookStep,
  pods: readonly HookPod[],
  now: number,
  result?: HookResult,
): HookRequestBody {
  return {
    apiVersion: HOOK_API_VERSION,
    phase,
    hook,
    healId: step.healId,
    node: step.node,
    pool: step.pool,
    fault: step.fault,
    step: step.step,
    action: step.action,
    pods: [...pods],
    ...(result ? { result } : {}),
    sentAt: new Date(now).toISOString(),
  };
}

/** What a hook said, or why it said nothing. */
export type HookReply =
  | { kind: 'response'; status: number; body: string; retryAfter: string | null }
  | { kind: 'no-answer'; reason: string };

/** How a pre-hook's reply is read. */
export type HookVerdict =
  | { kind: 'go' }
  | { kind: 'veto'; reason: string; retryAfterMs?: number }
  | { kind: 'unsure'; reason: string; retryAfterMs?: number };

/** Statuses by which a hook holds a step on purpose (Conflict, Locked). */
export const VETO_STATUSES: readonly number[] = [409, 423];

/** Longest reason kept from a hook's answer. */
export const MAX_REASON_CHARS = 300;

/** Longest Retry-After honoured: a day (a longer one is read as a day). */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Reads a pre-hook's reply (pure; `now` in epoch ms).
 *
 * - A 2xx answer lets the step go (its body is not read).
 * - 409 or 423 holds it: a veto, with the hook's reason (see `reasonOf`).
 * - Any other status, a timeout or a connection error holds it too, as unsure: when unsure, do
 *   nothing. The reason says what came back.
 * - A Retry-After on a veto or an unsure answer says when to ask again (`parseRetryAfter`).
 */
export function classifyReply(reply: HookReply, now: number): HookVerdict {
  if (reply.kind === 'no-answer') return { kind: 'unsure', reason: reply.reason };
  if (reply.status >= 200 && reply.status < 300) return { kind: 'go' };
  const retryAfterMs = parseRetryAfter(reply.retryAfter, now);
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
  const said = reasonOf(reply.body);
  if (VETO_STATUSES.includes(reply.status)) {
    return { kind: 'veto', reason: said ?? `answered ${reply.status}`, ...retry };
  }
  return {
    kind: 'unsure',
    reason: `answered ${reply.status}${said === undefined ? '' : `: ${said}`}`,
    ...retry,
  };
}

/**
 * The reason in a hook's answer body (pure).
 *
 * - A JSON object with a string `reason`: that.
 * - Otherwise the body as text.
 * - Control characters become spaces, runs of whitespace one space; at most `MAX_REASON_CHARS`
 *   characters (cut with `…`). Empty: undefined.
 */
export function reasonOf(body: string): string | undefined {
  let text = body;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const reason = (parsed as { reason?: unknown }).reason;
      if (typeof reason === 'string') text = reason;
    }
  } catch {
    // not JSON: the text itself
  }
  /* eslint-disable-next-line no-control-regex -- control characters are what it removes */
  const controls = /[\u0000-\u001f\u007f]/g;
  const clean = text.replace(controls, ' ').replace(/\s+/g, ' ').trim();
  if (clean === '') return undefined;
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 1)}…` : clean;
}

/**
 * A Retry-After header as a delay in ms from `now` (pure).
 *
 * - Delay-seconds (`120`): that many seconds.
 * - An HTTP date: until then (0 when it is past).
 * - Capped at `MAX_RETRY_AFTER_MS`; absent or unreadable: undefined.
 */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number,
): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP date names its weekday and month (Date.parse alone would read `-5` as a year).
  const at = /[A-Za-z]/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/**
 * How long a held step waits before asking the hook again after its `attempt`th hold in a row
 * (pure): `baseMs` doubled per hold, at most `maxMs`; a Retry-After the hook gave wins.
 */
export function retryDelayMs(
  attempt: number,
  backoff: { baseMs: number; maxMs: number },
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const doublings = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** doublings);
}

/** What the hold on the status page says (pure). */
export function holdDetail(hook: string, verdict: Exclude<HookVerdict, { kind: 'go' }>): string {
  return verdict.kind === 'veto'
    ? `hook ${hook} holds the step: ${verdict.reason}`
    : `hook ${hook} unsure (${verdict.reason}): held, when unsure nodeheal does nothing`;
}

/**
 * A step's result as a post-hook is told it (pure), from what the step observed.
 *
 * - Done: `done` with the step's detail; failed: `failed` with why.
 * - The node gone while the step acted: `failed`, saying so.
 * - Interrupted (a cancel, a shutdown) before it ended: `failed`, saying so (a step interrupted
 *   by a shutdown is acted again by the worker that resumes the heal, with its own hooks).
 */
export function stepResult(
  observation: { kind: string; detail?: string },
  interrupted: boolean,
): HookResult {
  if (observation.kind === 'step-done') {
    return { outcome: 'done', detail: observation.detail ?? 'done' };
  }
  if (observation.kind === 'step-failed') {
    return { outcome: 'failed', detail: observation.detail ?? 'failed' };
  }
  if (observation.kind === 'node-gone') {
    return { outcome: 'failed', detail: 'the node was gone' };
  }
  return {
    outcome: 'failed',
    detail: interrupted ? 'interrupted (cancel or shutdown)' : `ended: ${observation.kind}`,
  };
}
