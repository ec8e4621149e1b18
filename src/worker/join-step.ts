// The runner's side of "one heal per node" (see joined-faults.ts): a job whose node is being
// healed joins that heal and waits for it to end; the running heal picks joined faults up at its
// step boundaries; when it ends, it wakes the jobs that joined it, and each looks again.
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../log/index.ts';
import type { HealJob } from '../queue/index.ts';
import { matchFault, type Catalog } from '../rules/index.ts';
import { joinedFaultSchema, type HealRecord, type JoinedFault } from '../heal/index.ts';
import type { HealStore } from '../store/index.ts';
import { isNewToHeal } from '../heal/index.ts';
import { joinedEntries, joinedTo, joinHolder, forgetJoinedTo } from '../store/index.ts';
import { conditionHealthy } from '../heal/index.ts';

/** A joined job looks again this often even if nobody wakes it (the heal's worker died). */
export const JOIN_RECHECK_MS = 60_000;
/**
 * After the heal it joined healed the node, a joined fault's alert has this long to resolve
 * (Prometheus' evaluation, Alertmanager's group_interval) before it gets a heal of its own.
 */
export const JOINED_SETTLE_MS = 3 * 60_000;

const joinEntrySchema = joinedFaultSchema.extend({ jobId: z.string() });
type JoinEntry = z.infer<typeof joinEntrySchema>;

export interface JoinDeps {
  redis: Redis;
  store: HealStore;
  catalog: () => Catalog;
  logger: Logger;
  now: () => Date;
  /** Wakes the delayed jobs that joined a heal that has ended (BullMQ promote). */
  wakeJobs: (jobIds: string[]) => Promise<void>;
}

export type JoinOutcome =
  | { kind: 'joined'; healId: string; until: number }
  | { kind: 'not-needed'; reason: string }
  | { kind: 'deferred'; until: number; gate: string; detail: string };

/**
 * Records the job's fault on the heal that holds the node. Returns that heal's id (the job then
 * waits for it), or undefined when no other heal holds the node (take the lock instead).
 */
export async function joinRunningHeal(
  deps: JoinDeps,
  job: HealJob,
  jobId: string,
  healId: string,
): Promise<string | undefined> {
  const fault =
    deps.catalog().faults.find((f) => f.name === job.fault) ??
    matchFault(deps.catalog(), { alertname: job.alertname, labels: job.labels });
  const entry: JoinEntry = {
    fault: fault.name,
    alertname: job.alertname,
    key: job.key,
    labels: job.labels,
    faultStartedAt: new Date(job.startsAt).getTime(),
    joinedAt: deps.now().getTime(),
    ladder: fault.ladder.map((s) => ({
      action: s.action,
      timeoutMs: s.timeoutMs,
      ...(s.skipBelowSuccessRate ? { skipBelowSuccessRate: { ...s.skipBelowSuccessRate } } : {}),
    })),
    jobId,
  };
  return await joinHolder(deps.redis, job.node, healId, JSON.stringify(entry));
}

function parseEntries(raws: readonly string[], log: Logger): JoinEntry[] {
  return raws.flatMap((raw) => {
    try {
      const parsed = joinEntrySchema.safeParse(JSON.parse(raw));
      if (parsed.success) return [parsed.data];
    } catch {
      // Reported below.
    }
    log.warn({ raw: raw.slice(0, 200) }, 'unreadable joined-fault entry; ignored');
    return [];
  });
}

/** The first fault that joined the heal and is not on its record yet, if any. */
export async function newlyJoined(
  deps: JoinDeps,
  record: HealRecord,
): Promise<JoinedFault | undefined> {
  const entries = parseEntries(await joinedEntries(deps.redis, record.id), deps.logger);
  const entry = entries.find((e) => isNewToHeal(record, e.fault));
  if (entry === undefined) return undefined;
  return joinedFaultSchema.parse(entry);
}

/** Wakes the jobs whose entries the ended heal handed back (see `releaseLock`). */
export async function wakeJoined(deps: JoinDeps, raws: readonly string[]): Promise<void> {
  const ids = [...new Set(parseEntries(raws, deps.logger).map((e) => e.jobId))];
  if (ids.length > 0) await deps.wakeJobs(ids);
}

/**
 * A job that joined a heal, looking again once that heal ended (it holds the node's lock now):
 * - healed: its fault was part of that heal. Done if the node condition its alert names is
 *   healthy; else its alert gets `JOINED_SETTLE_MS` to resolve, then it heals on its own;
 * - cancelled, abandoned or skipped: done; an operator's cancel covers it, and a human is
 *   already told (or the node opted out).
 * Undefined: go on as a heal of its own.
 */
export async function afterJoinedHeal(
  deps: JoinDeps,
  job: HealJob,
  healId: string,
  node: V1Node,
): Promise<JoinOutcome | undefined> {
  const joinedId = await joinedTo(deps.redis, healId);
  if (joinedId === undefined) return undefined;
  const joined = await deps.store.get(joinedId);
  if (joined === undefined || joined.status === 'running') {
    await forgetJoinedTo(deps.redis, healId);
    return undefined;
  }
  if (joined.status !== 'healed') {
    await forgetJoinedTo(deps.redis, healId);
    return {
      kind: 'not-needed',
      reason: `its fault was recorded on heal ${joinedId}, which ended ${joined.status}`,
    };
  }
  if (conditionHealthy(node, job.labels) === true) {
    await forgetJoinedTo(deps.redis, healId);
    return {
      kind: 'not-needed',
      reason: `heal ${joinedId}, which it joined, healed the node: ${job.labels.condition} is healthy`,
    };
  }
  const settled = (joined.endedAt ?? 0) + JOINED_SETTLE_MS;
  if (deps.now().getTime() < settled) {
    return {
      kind: 'deferred',
      until: settled,
      gate: 'joined',
      detail: `heal ${joinedId}, which it joined, healed the node: waiting for ${job.alertname} to resolve`,
    };
  }
  await forgetJoinedTo(deps.redis, healId);
  return undefined;
}
