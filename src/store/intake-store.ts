// Redis side of the intake: per-key triage histories and the durable log of received alerts.
// A request's batch is committed atomically with a compare-and-set on every history it read, so
// that two Alertmanagers delivering the same alerts at once cannot both act on a stale history.
//
// Two things keep this to about one Redis round trip per turn of the event loop, whatever the
// number of concurrent requests (bench:intake): the histories last read or written are cached
// (HistoryCache; the compare-and-set catches a stale entry), and the commits of concurrent
// requests travel together in one script call (MicroBatcher), each still checked on its own.
import type { Redis } from 'ioredis';
import { faultHistorySchema, markScheduled, type FaultHistory } from '../triage/index.ts';
import { HistoryCache } from './history-cache.ts';
import { keys } from './keys.ts';
import { MicroBatcher } from './micro-batcher.ts';

export interface HistorySnapshot {
  key: string;
  /** The stored JSON as read (null when absent): the compare-and-set witness. */
  raw: string | null;
  history: FaultHistory | undefined;
}

export interface AlertRecord {
  /** Fields of one stream entry, stored as a JSON object in its single field `alert`. */
  [field: string]: string;
}

export interface CommitBatch {
  snapshots: HistorySnapshot[];
  next: Map<string, FaultHistory>;
  records: AlertRecord[];
}

export interface IntakeStore {
  /** The histories of `keys` as last known (cached, or read from Redis), in the same order. */
  readHistories(keys: string[]): Promise<HistorySnapshot[]>;
  /** `readHistories` when every one of `keys` is remembered, else undefined (no I/O). */
  cachedHistories(keys: string[]): HistorySnapshot[] | undefined;
  /** Records that the queue holds the job of `key`'s current episode, due at `dueAt`. */
  confirmScheduled(key: string, dueAt: Date): Promise<void>;
  /**
   * true when committed; false when another writer changed one of the histories first (the
   * current values are then known: read again and retry).
   */
  commit(batch: CommitBatch): Promise<boolean>;
  ping(): Promise<void>;
}

export interface IntakeStoreOptions {
  /** Histories kept in memory (the one written longest ago is dropped first). */
  cacheEntries?: number;
}

export const ALERT_LOG_STREAM = keys.alertLog;
/** Histories expire a week after their last change; the flap window is far shorter. */
const HISTORY_TTL_SECONDS = 7 * 24 * 3600;
/** The alert log is capped (approximately, which is cheap for Redis). */
const ALERT_LOG_MAXLEN = 200_000;
/** Enough for every (node, fault) of a 10,000-node cluster with a few faults each. */
const DEFAULT_CACHE_ENTRIES = 50_000;
/**
 * Script arguments per call: bounds how long one call holds Redis (it runs atomically) and the
 * size of one write. Several calls are sent when concurrent requests bring more.
 */
const MAX_ARGS_PER_CALL = 20_000;
const CONFIRM_ATTEMPTS = 16;

export function historyKey(key: string): string {
  return keys.history(key);
}

// One call commits several requests' batches, in order, each on its own: a batch whose histories
// changed since they were read is skipped and its keys' current values returned, the others are
// applied. Later batches see the writes of earlier ones.
// KEYS: the alert-log stream, then the history keys of every batch.
// ARGV: ttl, maxlen, number of batches, then per batch: n, n expected values ('' = absent),
// n new values ('' = unchanged), the number of alert-log entries, then each entry as one JSON
// text (stored as the entry's single field `alert`).
// Returns per batch 1 (applied) or the list of its keys' current values ('' = absent).
const commitScript = `
local ttl = ARGV[1]
local maxlen = ARGV[2]
local batches = tonumber(ARGV[3])
local results = {}
local pos = 4
local k = 1
for b = 1, batches do
  local n = tonumber(ARGV[pos])
  local alerts = tonumber(ARGV[pos + 2 * n + 1])
  local first = pos + 2 * n + 2
  local ok = true
  for i = 1, n do
    if (redis.call('GET', KEYS[k + i]) or '') ~= ARGV[pos + i] then ok = false end
  end
  if ok then
    for i = 1, n do
      local value = ARGV[pos + n + i]
      if value ~= '' then redis.call('SET', KEYS[k + i], value, 'EX', ttl) end
    end
    for i = 0, alerts - 1 do
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'alert', ARGV[first + i])
    end
    results[b] = 1
  else
    local current = {}
    for i = 1, n do current[i] = redis.call('GET', KEYS[k + i]) or '' end
    results[b] = current
  end
  pos = first + alerts
  k = k + n
end
return results
`;

/** One request's commit, as script arguments. */
interface EncodedCommit {
  keys: string[];
  /** n, expected values, new values, entry counts, entries (JSON). */
  args: string[];
  batch: CommitBatch;
}

type CommitResult = 1 | string[];

export function redisIntakeStore(redis: Redis, options: IntakeStoreOptions = {}): IntakeStore {
  redis.defineCommand('nodehealCommitIntake', { lua: commitScript });
  const call = redis as unknown as {
    nodehealCommitIntake(numKeys: number, ...args: string[][]): Promise<CommitResult[]>;
  };
  const cache = new HistoryCache<FaultHistory>(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);

  /** Caches what Redis holds for `key` and returns it as a snapshot. */
  const remember = (key: string, raw: string | null): HistorySnapshot => {
    const history = raw === null ? undefined : parseHistory(raw);
    cache.set(key, { raw, history });
    return { key, raw, history };
  };

  const batcher = new MicroBatcher<EncodedCommit, CommitResult>({
    maxWeight: MAX_ARGS_PER_CALL,
    weight: (c) => c.keys.length + c.args.length,
    send: async (commits) => {
      const scriptKeys = [ALERT_LOG_STREAM, ...commits.flatMap((c) => c.keys)];
      let results: CommitResult[];
      try {
        // Arrays, not spread arguments: ioredis flattens them, and a request of many thousand
        // alerts would exceed what a JavaScript call can take as separate arguments.
        results = await call.nodehealCommitIntake(
          scriptKeys.length,
          scriptKeys,
          [String(HISTORY_TTL_SECONDS), String(ALERT_LOG_MAXLEN), String(commits.length)],
          commits.flatMap((c) => c.args),
        );
      } catch (error) {
        // The script may or may not have run (a timeout): what Redis holds is unknown.
        for (const c of commits) for (const s of c.batch.snapshots) cache.delete(s.key);
        throw error;
      }
      // In order, as the script applied them: a later batch's write is the one that stays.
      commits.forEach((c, i) => {
        const result = results[i];
        c.batch.snapshots.forEach((s, j) => {
          if (result === 1) {
            // Unchanged histories keep their entry as it is.
            const h = c.batch.next.get(s.key);
            if (h !== undefined) {
              cache.set(s.key, { raw: c.args[1 + c.keys.length + j] ?? null, history: h });
            }
          } else if (Array.isArray(result)) {
            const current = result[j] ?? '';
            remember(s.key, current === '' ? null : current);
          }
        });
      });
      return results;
    },
  });

  const commit = async (batch: CommitBatch): Promise<boolean> => {
    const result = await batcher.submit(encodeCommit(batch));
    return result === 1;
  };

  const store: IntakeStore = {
    async readHistories(keys) {
      const snapshots: HistorySnapshot[] = [];
      const missing: number[] = [];
      keys.forEach((key, i) => {
        const entry = cache.get(key);
        if (entry === undefined) missing.push(i);
        snapshots.push({ key, raw: entry?.raw ?? null, history: entry?.history });
      });
      if (missing.length > 0) {
        const values = await redis.mget(missing.map((i) => historyKey(keys[i] ?? '')));
        missing.forEach((i, j) => {
          snapshots[i] = remember(keys[i] ?? '', values[j] ?? null);
        });
      }
      return snapshots;
    },
    cachedHistories(keys) {
      const snapshots: HistorySnapshot[] = [];
      for (const key of keys) {
        const entry = cache.get(key);
        if (entry === undefined) return undefined;
        snapshots.push({ key, raw: entry.raw, history: entry.history });
      }
      return snapshots;
    },
    commit,
    async confirmScheduled(key, dueAt) {
      for (let attempt = 1; attempt <= CONFIRM_ATTEMPTS; attempt++) {
        const [snapshot] = await store.readHistories([key]);
        const h = snapshot?.history;
        // Only while the episode still fires: a resolution in between must not be undone.
        if (snapshot === undefined || h === undefined || h.active.length === 0) return;
        const next = markScheduled(h, dueAt);
        if (JSON.stringify(next) === snapshot.raw) return;
        const done = await commit({
          snapshots: [snapshot],
          next: new Map([[key, next]]),
          records: [],
        });
        if (done) return;
      }
      throw new Error(`history ${key} kept changing; its scheduled job is not confirmed`);
    },
    async ping() {
      await redis.ping();
    },
  };
  return store;
}

function encodeCommit(batch: CommitBatch): EncodedCommit {
  const historyKeys = batch.snapshots.map((s) => historyKey(s.key));
  const args: string[] = [String(historyKeys.length)];
  for (const s of batch.snapshots) args.push(s.raw ?? '');
  for (const s of batch.snapshots) {
    const h = batch.next.get(s.key);
    args.push(h === undefined ? '' : JSON.stringify(h));
  }
  args.push(String(batch.records.length));
  for (const r of batch.records) args.push(JSON.stringify(r));
  return { keys: historyKeys, args, batch };
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
