// The JSON values that workers and intake replicas share, each updated by compare-and-set:
// the gates' budget, the per-key triage histories (as the worker sees them) and the success
// rates of remedies. `update` functions must be pure: they may run again on a conflict.
import type { Redis } from 'ioredis';
import {
  durationTableSchema,
  successTableSchema,
  type DurationTable,
  type SuccessTable,
} from '../heal/index.ts';
import { budgetStateSchema, type BudgetState } from '../safety/index.ts';
import { faultHistorySchema, type FaultHistory } from '../triage/index.ts';
import { casUpdate, jsonParser } from './cas.ts';
import { keys } from './keys.ts';

type Update<T, R> = (current: T | undefined) => { next: T | undefined; result: R };

const parseBudget = jsonParser<BudgetState>(budgetStateSchema);
const parseHistory = jsonParser<FaultHistory>(faultHistorySchema);
const parseRates = jsonParser<SuccessTable>(successTableSchema);
const parseDurations = jsonParser<DurationTable>(durationTableSchema);

/** The gates' shared budget state as stored; undefined when absent or unreadable. */
export async function readBudget(redis: Redis): Promise<BudgetState | undefined> {
  const raw = await redis.get(keys.budget);
  return raw === null ? undefined : parseBudget(raw);
}

export async function updateBudget<R>(redis: Redis, update: Update<BudgetState, R>): Promise<R> {
  return await casUpdate(redis, keys.budget, parseBudget, update);
}

/** The triage history of dedupe key `key`; undefined when absent or unreadable. */
export async function readHistory(redis: Redis, key: string): Promise<FaultHistory | undefined> {
  const raw = await redis.get(keys.history(key));
  return raw === null ? undefined : parseHistory(raw);
}

export async function updateHistory(
  redis: Redis,
  key: string,
  update: (current: FaultHistory | undefined) => FaultHistory | undefined,
): Promise<void> {
  await casUpdate(redis, keys.history(key), parseHistory, (h) => ({
    next: update(h),
    result: undefined,
  }));
}

/**
 * Since when a due heal's fault has looked over (epoch ms): the first call sets it to `now`,
 * later ones read it back; it expires `ttlMs` after it was set.
 */
export async function overSince(
  redis: Redis,
  healId: string,
  now: number,
  ttlMs: number,
): Promise<number> {
  const key = keys.overSince(healId);
  await redis.set(key, String(now), 'PX', Math.max(1, ttlMs), 'NX');
  const raw = await redis.get(key);
  const since = raw === null ? Number.NaN : Number(raw);
  return Number.isFinite(since) ? since : now;
}

/** Forgets a heal's "looks over since": its fault was confirmed firing. */
export async function forgetOverSince(redis: Redis, healId: string): Promise<void> {
  await redis.del(keys.overSince(healId));
}

/**
 * Keeps a heal's "looks over since" for `ttlMs` more: its wait ran out, and a gate holding the
 * heal after that must not start the wait again.
 */
export async function keepOverSince(redis: Redis, healId: string, ttlMs: number): Promise<void> {
  await redis.pexpire(keys.overSince(healId), Math.max(1, ttlMs));
}

/** Measured outcomes of each remedy per fault; empty when none or unreadable. */
export async function readSuccessRates(redis: Redis): Promise<SuccessTable> {
  const raw = await redis.get(keys.successRates);
  return (raw === null ? undefined : parseRates(raw)) ?? {};
}

export async function updateSuccessRates(
  redis: Redis,
  update: (current: SuccessTable) => SuccessTable,
): Promise<void> {
  await casUpdate(redis, keys.successRates, parseRates, (t) => ({
    next: update(t ?? {}),
    result: undefined,
  }));
}

/** Recent durations of each step per (pool, fault, action); empty when none or unreadable. */
export async function readStepDurations(redis: Redis): Promise<DurationTable> {
  const raw = await redis.get(keys.stepDurations);
  return (raw === null ? undefined : parseDurations(raw)) ?? {};
}

/** Atomic (compare-and-set) like the success rates: `update` must be pure. */
export async function updateStepDurations(
  redis: Redis,
  update: (current: DurationTable) => DurationTable,
): Promise<void> {
  await casUpdate(redis, keys.stepDurations, parseDurations, (t) => ({
    next: update(t ?? {}),
    result: undefined,
  }));
}
