// Compare-and-set on one JSON value in Redis: read, compute purely, write only if unchanged.
// Several workers and intake replicas share budget and history values; this keeps each update
// atomic without WATCH (which ioredis' shared, pipelined connection cannot scope per request).
import type { Redis } from 'ioredis';

const casScript = `
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
`;

export class CasConflictError extends Error {
  readonly code = 'CAS_CONFLICT';
}

interface CasRedis {
  nodehealCas(key: string, expected: string, next: string, ttl: string): Promise<number>;
}

function withCas(redis: Redis): CasRedis {
  const r = redis as unknown as Partial<CasRedis> & Redis;
  if (typeof r.nodehealCas !== 'function')
    redis.defineCommand('nodehealCas', { numberOfKeys: 1, lua: casScript });
  return redis as unknown as CasRedis;
}

/**
 * Applies `update` to the value at `key` atomically. `update` gets the parsed current value (or
 * undefined) and returns the next value and a result; it may run several times on conflict, so
 * it must be pure.
 */
export async function casUpdate<T, R>(
  redis: Redis,
  key: string,
  parse: (raw: string) => T | undefined,
  update: (current: T | undefined) => { next: T | undefined; result: R },
  options: { ttlSeconds?: number; attempts?: number } = {},
): Promise<R> {
  const cas = withCas(redis);
  for (let attempt = 1; attempt <= (options.attempts ?? 16); attempt++) {
    const raw = await redis.get(key);
    const { next, result } = update(raw === null ? undefined : parse(raw));
    if (next === undefined) return result;
    const serialised = JSON.stringify(next);
    if (serialised === raw) return result;
    const ok = await cas.nodehealCas(
      key,
      raw ?? '',
      serialised,
      options.ttlSeconds ? String(options.ttlSeconds) : '',
    );
    if (ok === 1) return result;
    await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
  }
  throw new CasConflictError(`${key} kept changing; gave up`);
}

/** JSON.parse + zod-like safeParse, undefined when the stored value is unreadable. */
export function jsonParser<T>(schema: {
  safeParse(v: unknown): { success: true; data: T } | { success: false };
}) {
  return (raw: string): T | undefined => {
    try {
      const parsed = schema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  };
}
