// `nodeheal status [NODE]`: heal records read straight from Redis (no server needed). Without a
// node, a table of the newest heals; with one, that node's heals with their transitions.
// `--json` prints the same views as the HTTP API. Exit 0; 1 on bad input or when Redis cannot be
// reached within 3 s.
import { describeRedisTarget, loadConfig } from '../config/index.ts';
import { redisHealStore } from '../store/index.ts';
import { isDns1123Subdomain } from '../triage/index.ts';
import { producerConnection } from '../queue/index.ts';
import {
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  currentHeal,
  healDetail,
  healSummary,
  renderHealsText,
  renderNodeText,
  statusLinks,
} from '../status/index.ts';

export interface StatusOptions {
  json: boolean;
  limit?: string;
}

/** How long `nodeheal status` waits for Redis before giving up. */
export const STATUS_REDIS_TIMEOUT_MS = 3000;

function fail(message: string): number {
  process.stderr.write(`nodeheal status: ${message}\n`);
  return 1;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return DEFAULT_LIST_LIMIT;
  if (!/^\d+$/.test(text)) return undefined;
  const limit = Number(text);
  return limit >= 1 && limit <= MAX_LIST_LIMIT ? limit : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function status(node: string | undefined, options: StatusOptions): Promise<number> {
  const config = loadConfig();
  if (node !== undefined && !isDns1123Subdomain(node)) {
    return fail(`invalid node name ${JSON.stringify(node)}: expected a DNS-1123 subdomain`);
  }
  const limit = parseLimit(options.limit);
  if (limit === undefined) return fail(`--limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);

  const redis = producerConnection(config.redis, STATUS_REDIS_TIMEOUT_MS);
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    try {
      await withTimeout(redis.connect(), STATUS_REDIS_TIMEOUT_MS);
    } catch (error) {
      const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error));
      return fail(
        `Redis at ${describeRedisTarget(config.redis)} is unreachable: ${reason} ` +
          '(set NODEHEAL_REDIS_URL, or NODEHEAL_REDIS_SENTINELS and NODEHEAL_REDIS_SENTINEL_MASTER)',
      );
    }
    const store = redisHealStore(redis);
    const links = statusLinks(config.NODEHEAL_PUBLIC_URL);
    const now = new Date();
    const paused = (await store.paused()) ?? null;

    if (node === undefined) {
      const records = await store.list({ limit });
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ heals: records.map((r) => healSummary(r, links)), paused }, null, 2)}\n`
          : renderHealsText(records, paused, now),
      );
      return 0;
    }

    const records = await store.list({ node, limit });
    if (!options.json) {
      process.stdout.write(renderNodeText(node, records, paused, now));
      return 0;
    }
    const running = currentHeal(records);
    const [blocked, cancelRequestedBy] = running
      ? await Promise.all([store.blocked(running.id), store.cancelRequested(running.id)])
      : [undefined, undefined];
    const view = {
      node,
      current: running
        ? healDetail(running, { blocked, cancelRequestedBy, now: now.getTime() }, links)
        : null,
      heals: records.map((r) =>
        healDetail(
          r,
          r === running
            ? { blocked, cancelRequestedBy, now: now.getTime() }
            : { now: now.getTime() },
          links,
        ),
      ),
      paused,
    };
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}
