// Heal records and operator controls in Redis. Not part of the pure core: the runner, the status
// API and `nodeheal status` use it.
import type { Redis } from 'ioredis';
import { keys } from './keys.ts';
import { fenceConfirmationSchema, type FenceConfirmation } from '../heal/index.ts';
import { approvalDecisionSchema, type ApprovalDecision } from '../heal/index.ts';
import { healRecordSchema, type HealRecord } from '../heal/index.ts';
import { successTableSchema, type SuccessTable } from '../heal/index.ts';
import type { DurationTable } from '../heal/index.ts';
import { readStepDurations } from './shared-state.ts';

export const RECORD_TTL_SECONDS = 30 * 24 * 3600;
const recordKey = keys.record;
const ALL = keys.records;
const byNode = keys.recordsOfNode;
const PAUSED = keys.paused;
const cancelKey = keys.cancel;
const blockedKey = keys.blocked;
const fenceKey = keys.fence;
const approvalKey = keys.approval;
/** An operator's confirmation that a node is down is good for a day (then confirm again). */
const FENCE_CONFIRMATION_TTL_SECONDS = 24 * 3600;

export interface PauseState {
  by: string;
  at: number;
  reason: string;
}

export interface BlockedNote {
  healId: string;
  key: string;
  node: string;
  fault: string;
  gate: string;
  detail: string;
  at: number;
  /** When the worker will ask the gates again. */
  retryAt?: number;
}

export interface HealStore {
  save(record: HealRecord): Promise<void>;
  get(id: string): Promise<HealRecord | undefined>;
  /** Newest first. */
  list(options?: { node?: string; limit?: number }): Promise<HealRecord[]>;
  pause(state: PauseState): Promise<void>;
  resume(): Promise<void>;
  paused(): Promise<PauseState | undefined>;
  requestCancel(id: string, by: string): Promise<void>;
  cancelRequested(id: string): Promise<string | undefined>;
  noteBlocked(note: BlockedNote): Promise<void>;
  clearBlocked(id: string): Promise<void>;
  blocked(id: string): Promise<BlockedNote | undefined>;
  /** An operator confirms that the node of heal `confirmation.healId` is down: a fence. */
  confirmFence(node: string, confirmation: FenceConfirmation): Promise<void>;
  fenceConfirmation(node: string): Promise<FenceConfirmation | undefined>;
  /** An operator approves or rejects heal `decision.healId` (`approval: outage`). */
  decideApproval(decision: ApprovalDecision): Promise<void>;
  approvalDecision(id: string): Promise<ApprovalDecision | undefined>;
  /** Measured outcomes of each remedy per fault (what `skipBelowSuccessRate` reads). */
  successRates(): Promise<SuccessTable>;
  /** Recent durations of each ladder step per pool and fault (what `order: fastest` reads). */
  stepDurations?(): Promise<DurationTable>;
}

/** Where the runner keeps the success table (JSON). */
export const SUCCESS_RATES_KEY = keys.successRates;

function parseRecord(raw: string | null): HealRecord | undefined {
  if (raw === null) return undefined;
  try {
    const parsed = healRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function redisHealStore(redis: Redis): HealStore {
  return {
    async save(record) {
      await redis
        .multi()
        .set(recordKey(record.id), JSON.stringify(record), 'EX', RECORD_TTL_SECONDS)
        .zadd(ALL, record.createdAt, record.id)
        .zadd(byNode(record.node), record.createdAt, record.id)
        .exec();
    },
    async get(id) {
      return parseRecord(await redis.get(recordKey(id)));
    },
    async list(options = {}) {
      const ids = await redis.zrevrange(
        options.node ? byNode(options.node) : ALL,
        0,
        (options.limit ?? 100) - 1,
      );
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map(recordKey));
      return raws.map(parseRecord).filter((r): r is HealRecord => r !== undefined);
    },
    async pause(state) {
      await redis.set(PAUSED, JSON.stringify(state));
    },
    async resume() {
      await redis.del(PAUSED);
    },
    async paused() {
      const raw = await redis.get(PAUSED);
      return raw ? (JSON.parse(raw) as PauseState) : undefined;
    },
    async requestCancel(id, by) {
      await redis.set(cancelKey(id), by, 'EX', RECORD_TTL_SECONDS);
    },
    async cancelRequested(id) {
      return (await redis.get(cancelKey(id))) ?? undefined;
    },
    async noteBlocked(note) {
      await redis.set(blockedKey(note.healId), JSON.stringify(note), 'EX', RECORD_TTL_SECONDS);
    },
    async clearBlocked(id) {
      await redis.del(blockedKey(id));
    },
    async successRates() {
      const raw = await redis.get(SUCCESS_RATES_KEY);
      if (raw === null) return {};
      try {
        const parsed = successTableSchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : {};
      } catch {
        return {};
      }
    },
    async stepDurations() {
      return await readStepDurations(redis);
    },
    async confirmFence(node, confirmation) {
      await redis.set(
        fenceKey(node),
        JSON.stringify(fenceConfirmationSchema.parse(confirmation)),
        'EX',
        FENCE_CONFIRMATION_TTL_SECONDS,
      );
    },
    async fenceConfirmation(node) {
      const raw = await redis.get(fenceKey(node));
      if (raw === null) return undefined;
      const parsed = fenceConfirmationSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    },
    async decideApproval(decision) {
      await redis.set(
        approvalKey(decision.healId),
        JSON.stringify(approvalDecisionSchema.parse(decision)),
        'EX',
        RECORD_TTL_SECONDS,
      );
    },
    async approvalDecision(id) {
      const raw = await redis.get(approvalKey(id));
      if (raw === null) return undefined;
      // A value that is not a decision (written by hand, an older shape) decides nothing.
      try {
        const parsed = approvalDecisionSchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
    async blocked(id) {
      const raw = await redis.get(blockedKey(id));
      return raw ? (JSON.parse(raw) as BlockedNote) : undefined;
    },
  };
}
