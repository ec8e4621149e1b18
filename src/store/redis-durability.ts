// Whether the Redis nodeheal writes to keeps what it acknowledged: the webhook answers 200 once
// an alert is written, so a Redis that forgets a write after answering it loses that alert for
// good (Alertmanager does not send it again). Read once at start from CONFIG GET; a Redis that
// does not allow CONFIG (some managed services) is reported as unknown, not as a problem.
import type { Redis } from 'ioredis';

export interface RedisDurability {
  appendonly: string;
  appendfsync: string;
}

/**
 * What an operator should be told about these settings (pure), or undefined when they keep every
 * acknowledged write:
 * - `appendonly no`: a restart loses everything since the last snapshot (queue, records, budget);
 * - `appendfsync` other than `always`: a crash of the machine (power, kernel, VM) loses the last
 *   second or two of acknowledged writes (`everysec`), or more (`no`); a Redis process crash
 *   alone loses them too while a slow disk holds an fsync back.
 */
export function durabilityWarning(d: RedisDurability): string | undefined {
  if (d.appendonly !== 'yes') {
    return 'Redis runs with appendonly no: a Redis restart loses acknowledged alerts, heal jobs and records; run it with queue/redis.conf (docs/reliability.md)';
  }
  if (d.appendfsync !== 'always') {
    return `Redis runs with appendfsync ${d.appendfsync}: a crash of its machine can lose alerts the webhook already answered 200; queue/redis.conf uses appendfsync always (docs/reliability.md)`;
  }
  return undefined;
}

/** Redis' appendonly and appendfsync, or undefined when CONFIG GET is not allowed. */
export async function readRedisDurability(redis: Redis): Promise<RedisDurability | undefined> {
  try {
    const reply = await redis.config('GET', 'append*');
    const settings = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) settings.set(reply[i]!, reply[i + 1]!);
    const appendonly = settings.get('appendonly');
    const appendfsync = settings.get('appendfsync');
    if (appendonly === undefined || appendfsync === undefined) return undefined;
    return { appendonly, appendfsync };
  } catch {
    return undefined;
  }
}
