// Why a transient fault was acted on: for a few of those heals, what nodeheal was told and when
// (every delivery of the node's alerts through the pass-through), what it kept (the fault history
// in Redis) and what the heal record says, so that a failed run explains itself.
import type { Redis } from 'ioredis';
import type { HealRecord } from '../../src/heal/index.ts';
import { readHistory } from '../../src/store/index.ts';
import type { TimingProxy } from './storm-proxy.ts';

const EXPLAINED = 3;

export async function explainTransientHeals(
  heals: HealRecord[],
  redis: Redis,
  proxy: TimingProxy,
  startedAt: number,
): Promise<void> {
  if (heals.length === 0) return;
  const rel = (ms: number) => `t+${((ms - startedAt) / 1000).toFixed(1)}`;
  console.log(`why (the first ${Math.min(EXPLAINED, heals.length)} of ${heals.length}):`);
  for (const h of heals.slice(-EXPLAINED)) {
    const o = h.origin;
    console.log(
      `  ${h.node} ${h.fault} (${o?.alertname ?? '?'} ${JSON.stringify(o?.labels ?? {})}): fault started ${rel(h.faultStartedAt)}, ` +
        `job scheduled ${o ? rel(o.receivedAt) : '?'}, due ${o ? rel(o.dueAt) : '?'}, heal created ${rel(h.createdAt)}, ended ${h.status}`,
    );
    const history = await readHistory(redis, h.key);
    const times = (entries: { startsAt: number; endsAt?: number }[] | undefined) =>
      (entries ?? [])
        .map((e) => `${rel(e.startsAt)}${e.endsAt === undefined ? '' : `→${rel(e.endsAt)}`}`)
        .join(' ');
    console.log(
      `    history: active [${times(history?.active)}] resolved [${times(history?.resolved)}]`,
    );
    const delivered = (proxy.deliveries.get(h.node) ?? [])
      .filter(([, alertname]) => alertname === o?.alertname)
      .map(
        ([at, , status, startsAt, code]) =>
          `${rel(at)} ${status} (startsAt ${rel(Date.parse(startsAt))}) ${code}`,
      );
    console.log(`    deliveries of ${o?.alertname ?? '?'}: ${delivered.join('; ') || 'none'}`);
  }
}
