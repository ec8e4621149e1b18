// What the status API shows of heal records: pure mappings from stored records to the JSON
// views (summaries, ladder steps, details, a node's heals) and the links between them. Times stay
// epoch milliseconds, as in the record; the HTML pages and the CLI format them.
import {
  HEAL_STATUSES,
  healPhases,
  type ApprovalDecision,
  type HealPhases,
  type HealRecord,
  type StepState,
  type Transition,
} from '../heal/index.ts';
import type { BlockedNote, PauseState } from '../store/index.ts';
import type { RemedyAction } from '../rules/index.ts';

/** Heal ids the API accepts (anything else is a 400). */
export const HEAL_ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

/** Largest `limit` for lists. */
export const MAX_LIST_LIMIT = 500;
export const DEFAULT_LIST_LIMIT = 100;

export interface StatusLinks {
  /** The heal list. */
  heals(): string;
  heal(id: string): string;
  node(node: string): string;
}

/**
 * Links to the status pages.
 *
 * - With a `publicUrl` (NODEHEAL_PUBLIC_URL) of scheme http or https, links are absolute under
 *   it (a trailing slash is dropped, a path prefix kept); otherwise they are root-relative.
 * - Ids and node names are percent-encoded as one path segment.
 */
export function statusLinks(publicUrl?: string): StatusLinks {
  let base = '';
  if (publicUrl) {
    try {
      const url = new URL(publicUrl);
      if (url.protocol === 'http:' || url.protocol === 'https:') {
        base = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
      }
    } catch {
      base = '';
    }
  }
  return {
    heals: () => `${base}/heals`,
    heal: (id) => `${base}/heals/${encodeURIComponent(id)}`,
    node: (node) => `${base}/nodes/${encodeURIComponent(node)}`,
  };
}

/**
 * The status the API shows: the record's, except that a running heal whose step waits for an
 * operator's approval (gate `approval`) is `awaiting-approval`.
 */
export const VIEW_STATUSES = [...HEAL_STATUSES, 'awaiting-approval'] as const;
export type HealViewStatus = (typeof VIEW_STATUSES)[number];

export function viewStatus(record: Pick<HealRecord, 'status' | 'gate'>): HealViewStatus {
  return record.status === 'running' && record.gate === 'approval'
    ? 'awaiting-approval'
    : record.status;
}

/** Whether the heal still runs (`running` or `awaiting-approval`). */
export function isOngoing(status: HealViewStatus): boolean {
  return status === 'running' || status === 'awaiting-approval';
}

/** Whether a heal is listed under `?status=`: `running` includes heals awaiting approval. */
export function hasStatus(record: Pick<HealRecord, 'status' | 'gate'>, status: HealViewStatus) {
  return status === 'running' ? record.status === 'running' : viewStatus(record) === status;
}

export interface HealSummary {
  id: string;
  node: string;
  fault: string;
  pool: string;
  status: HealViewStatus;
  /** The action of the current step (the last one reached once the heal ended). */
  step: RemedyAction;
  stepIndex: number;
  stepState: StepState;
  ladderLength: number;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  outcomeReason: string | null;
  /** The safety gate holding the current step, or that ended the heal (skipped); else null. */
  gate: HealRecord['gate'];
  dryRun: boolean;
  links: { self: string; node: string };
}

/**
 * Where a ladder step stands:
 * - `done`: the heal went past it, or ended on it after it completed (see `result`);
 * - `current`: the running heal is on it (waiting, acting or verifying);
 * - `pending`: not reached (or the heal ended before it began);
 * - `skipped`: skipped without running (success rate too low, or the daily cap), or the whole
 *   heal was skipped by a safety gate before it acted;
 * - `stopped`: the heal ended while the step was under way, before it completed (cancelled,
 *   blocked by a safety gate, the Node deleted).
 */
export type StepProgress = 'done' | 'current' | 'pending' | 'skipped' | 'stopped';

export interface StepView {
  index: number;
  action: RemedyAction;
  timeoutMs: number;
  state: StepProgress;
  /** How the last finished attempt of the step ended, when the record says. */
  result: 'success' | 'failure' | null;
  /** Times the step began acting (retries included). */
  attempts: number;
}

export interface HealDetail extends Omit<HealRecord, 'status'> {
  status: HealViewStatus;
  steps: StepView[];
  /** Where the time to heal went (see `healPhases`), up to the end or the time of the answer. */
  phases: HealPhases;
  /** Why a safety gate holds the heal back, when one does. */
  blocked: BlockedNote | null;
  /** Who asked to cancel the heal, when someone did and the worker has not acted on it yet. */
  cancelRequestedBy: string | null;
  /** An operator's approval or rejection of the heal (`approval: outage`), when given. */
  approval: ApprovalDecision | null;
  links: {
    self: string;
    node: string;
    /** The status page of the node that replaced this one, when the provider named it. */
    replacement: string | null;
  };
}

export interface HealListView {
  heals: HealSummary[];
  /** Set while an operator has paused all healing. */
  paused: PauseState | null;
}

export interface NodeView {
  node: string;
  /** The newest running heal of the node, if any. */
  current: HealDetail | null;
  /** Every recorded heal of the node, newest first. */
  heals: HealSummary[];
  paused: PauseState | null;
}

export function healSummary(record: HealRecord, links: StatusLinks): HealSummary {
  return {
    id: record.id,
    node: record.node,
    fault: record.fault,
    pool: record.pool,
    status: viewStatus(record),
    step: record.ladder[record.stepIndex]?.action ?? record.ladder[0]!.action,
    stepIndex: record.stepIndex,
    stepState: record.stepState,
    ladderLength: record.ladder.length,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    endedAt: record.endedAt,
    outcomeReason: record.outcomeReason,
    gate: record.gate,
    dryRun: record.dryRun,
    links: { self: links.heal(record.id), node: links.node(record.node) },
  };
}

const ACTING_KINDS: ReadonlySet<Transition['kind']> = new Set(['started', 'acting']);
/** Transitions that show the step ran to an end (a result, a transient failure, completion). */
const RAN_KINDS: ReadonlySet<Transition['kind']> = new Set([
  'step-done',
  'retry-scheduled',
  'escalated',
]);

/**
 * The ladder of a heal with each step's progress.
 *
 * - A step with a `skipped` transition that never ran (no `step-done`, `retry-scheduled`,
 *   `escalated` or result) is `skipped`, even when it had begun acting (the daily cap skips a
 *   step at the moment it is about to act).
 * - Steps before the current index are `done`; steps after it are `pending`.
 * - The step at the current index is `current` while the heal runs. Once the heal ended it is
 *   `done` if the heal was healed or the step ran (as above); `stopped` if it began acting but
 *   never ran to an end; `pending` if it never began.
 * - `result` is the result of the step's last transition that carries one (`success` when a
 *   remedy cleared the fault or a preparation step completed, `failure` when it escalated).
 * - `attempts` counts the `started`/`acting` transitions of the step (retries included), less
 *   the times a safety gate held the step back before it acted (`held`).
 */
export function stepViews(record: HealRecord): StepView[] {
  return record.ladder.map((step, index) => {
    const mine = record.transitions.filter((t) => t.step === index);
    const attempts =
      mine.filter((t) => ACTING_KINDS.has(t.kind)).length -
      mine.filter((t) => t.kind === 'held' && t.from === 'acting').length;
    const ran = mine.some((t) => RAN_KINDS.has(t.kind) || t.result !== undefined);
    const skipped = !ran && mine.some((t) => t.kind === 'skipped');
    let state: StepProgress;
    if (skipped) state = 'skipped';
    else if (index < record.stepIndex) state = 'done';
    else if (index > record.stepIndex) state = 'pending';
    else if (record.status === 'running') state = 'current';
    else if (record.status === 'healed' || ran) state = 'done';
    else state = attempts > 0 ? 'stopped' : 'pending';
    return {
      index,
      action: step.action,
      timeoutMs: step.timeoutMs,
      state,
      result: mine.findLast((t) => t.result !== undefined)?.result ?? null,
      attempts,
    };
  });
}

export function healDetail(
  record: HealRecord,
  extra: {
    blocked?: BlockedNote | undefined;
    cancelRequestedBy?: string | undefined;
    approval?: ApprovalDecision | undefined;
    /** The time of the answer (epoch ms): a running heal's phases run up to it. */
    now?: number | undefined;
  },
  links: StatusLinks,
): HealDetail {
  return {
    ...record,
    status: viewStatus(record),
    steps: stepViews(record),
    phases: healPhases(record, extra.now ?? record.updatedAt),
    // A note about a heal that has ended is stale: nothing is held back any more.
    blocked: record.status === 'running' ? (extra.blocked ?? null) : null,
    cancelRequestedBy: record.status === 'running' ? (extra.cancelRequestedBy ?? null) : null,
    approval: extra.approval ?? null,
    links: {
      self: links.heal(record.id),
      node: links.node(record.node),
      replacement: record.replacement === null ? null : links.node(record.replacement),
    },
  };
}

/** The newest running heal among `records` (which are newest first). */
export function currentHeal(records: readonly HealRecord[]): HealRecord | undefined {
  return records.find((r) => r.status === 'running');
}
