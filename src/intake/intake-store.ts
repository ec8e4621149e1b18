// Redis side of the intake: per-key triage histories and the durable log of received alerts.
// A batch is committed atomically with a compare-and-set on every history it read, so that two
// Alertmanagers delivering the same alerts at once cannot both act on a stale history.
import type { Redis } from 'ioredis';
import { casUpdate, jsonParser } from '../queue/cas.ts';
import { faultHistorySchema, markScheduled, type FaultHistory } from '../triage/index.ts';

export interface HistorySnapshot {
  key: string;
  /** The stored JSON as read (null when absent): the compare-and-set witness. */
  raw: string | null;
  history: FaultHistory | undefined;
}

export interface AlertRecord {
  /** Flat string fields written to the `nodeheal:alerts` stream. */
  [field: string]: string;
}

export interface CommitBatch {
  snapshots: HistorySnapshot[];
  next: Map<string, FaultHistory>;
  records: AlertRecord[];
  observations: AlertRecord[];
}

export interface IntakeStore {
  readHistories(keys: string[]): Promise<HistorySnapshot[]>;
  /** Records that the queue holds the job of `key`'s current episode, due at `dueAt`. */
  confirmScheduled(key: string, dueAt: Date): Promise<void>;
  /** true when committed; false when another writer changed one of the histories first. */
  commit(batch: CommitBatch): Promise<boolean>;
  ping(): Promise<void>;
}

export const ALERT_LOG_STREAM = 'nodeheal:alerts';
export const OBSERVATION_STREAM = 'nodeheal:observations';
/** Histories expire a week after their last change; the flap window is far shorter. */
const HISTORY_TTL_SECONDS = 7 * 24 * 3600;
/** The alert log is capped (approximately, which is cheap for Redis). */
const ALERT_LOG_MAXLEN = 200_000;

export function historyKey(key: string): string {
  return `nodeheal:history:${key}`;
}

// KEYS: the n history keys. ARGV: n, ttl, maxlen, then n expected values ('' = absent), n new
// values ('' = unchanged), then records as count followed by (stream, fieldcount, f, v, ...).
const commitScript = `
local n = tonumber(ARGV[1])
for i = 1, n do
  local current = redis.call('GET', KEYS[i])
  if current == false then current = '' end
  if current ~= ARGV[3 + i] then return 0 end
end
for i = 1, n do
  local value = ARGV[3 + n + i]
  if value ~= '' then redis.call('SET', KEYS[i], value, 'EX', ARGV[2]) end
end
local pos = 4 + 2 * n
local records = tonumber(ARGV[pos])
pos = pos + 1
for r = 1, records do
  local stream = ARGV[pos]
  local fields = tonumber(ARGV[pos + 1])
  local args = {stream, 'MAXLEN', '~', ARGV[3], '*'}
  for f = 1, fields * 2 do args[#args + 1] = ARGV[pos + 1 + f] end
  redis.call('XADD', unpack(args))
  pos = pos + 2 + fields * 2
end
return 1
`;

export function redisIntakeStore(redis: Redis): IntakeStore {
  redis.defineCommand('nodehealCommitIntake', { lua: commitScript });
  const call = redis as unknown as {
    nodehealCommitIntake(numKeys: number, ...args: (string | number)[]): Promise<number>;
  };
  return {
    async readHistories(keys) {
      if (keys.length === 0) return [];
      const values = await redis.mget(keys.map(historyKey));
      return keys.map((key, i) => {
        const raw = values[i] ?? null;
        return { key, raw, history: raw === null ? undefined : parseHistory(raw) };
      });
    },
    async commit(batch) {
      const keys = batch.snapshots.map((s) => historyKey(s.key));
      const expected = batch.snapshots.map((s) => s.raw ?? '');
      const next = batch.snapshots.map((s) => {
        const h = batch.next.get(s.key);
        return h === undefined ? '' : JSON.stringify(h);
      });
      const recordArgs: string[] = [];
      const push = (stream: string, record: AlertRecord) => {
        const entries = Object.entries(record);
        recordArgs.push(stream, String(entries.length), ...entries.flat());
      };
      for (const r of batch.records) push(ALERT_LOG_STREAM, r);
      for (const o of batch.observations) push(OBSERVATION_STREAM, o);
      const result = await call.nodehealCommitIntake(
        keys.length,
        ...keys,
        keys.length,
        HISTORY_TTL_SECONDS,
        ALERT_LOG_MAXLEN,
        ...expected,
        ...next,
        batch.records.length + batch.observations.length,
        ...recordArgs,
      );
      return result === 1;
    },
    async confirmScheduled(key, dueAt) {
      await casUpdate(
        redis,
        historyKey(key),
        jsonParser<FaultHistory>(faultHistorySchema),
        (h) => ({
          // Only while the episode still fires: a resolution in between must not be undone.
          next: h && h.active.length > 0 ? markScheduled(h, dueAt) : undefined,
          result: undefined,
        }),
        { ttlSeconds: HISTORY_TTL_SECONDS },
      );
    },
    async ping() {
      await redis.ping();
    },
  };
}

/** A stored history that no longer parses is treated as absent rather than blocking the key. */
function parseHistory(raw: string): FaultHistory | undefined {
  try {
    const parsed = faultHistorySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
