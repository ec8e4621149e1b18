// Figures of `npm run bench:storm` from what it recorded: percentiles, Alertmanager's own
// notification latency histogram, storm mode over time, Redis memory per pending heal.
import type { HealRecord } from '../../src/heal/index.ts';
import { episodeKey, type WebhookTiming } from './storm-proxy.ts';
import type { MemorySample, ScheduledJob, StormSample } from './storm-watch.ts';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function spread(values: number[], unit = 'ms', digits = 1): string {
  if (values.length === 0) return 'no samples';
  const f = (v: number) => `${v.toFixed(digits)} ${unit}`;
  return `p50 ${f(percentile(values, 50))}, p99 ${f(percentile(values, 99))}, max ${f(Math.max(...values))} (${values.length} samples)`;
}

/** Cumulative buckets of alertmanager_notification_latency_seconds{integration="webhook"}. */
export type Buckets = Map<number, number>;

export async function alertmanagerBuckets(url: string): Promise<Buckets> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('alertmanager_notification_latency_seconds_bucket')) continue;
    if (!line.includes('integration="webhook"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1] ?? '';
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(line.split(' ').pop()));
  }
  return buckets;
}

/** The bucket bound under which `p` % of the notifications between two readings fell. */
export function bucketQuantile(before: Buckets[], after: Buckets[], p: number): string {
  const total = new Map<number, number>();
  after.forEach((b, i) => {
    for (const [le, n] of b) total.set(le, (total.get(le) ?? 0) + n - (before[i]?.get(le) ?? 0));
  });
  const bounds = [...total.keys()].sort((a, b) => a - b);
  const count = total.get(Infinity) ?? 0;
  if (count === 0) return 'no notifications';
  const bound = bounds.find((le) => (total.get(le) ?? 0) >= (p / 100) * count);
  return bound === Infinity ? '> the largest bucket' : `≤ ${((bound ?? NaN) * 1000).toFixed(0)} ms`;
}

/** Webhook requests answered by nodeheal between `from` and `to` (epoch ms). */
export function webhookLine(timings: WebhookTiming[], from: number, to: number): string {
  const inside = timings.filter((t) => t.at >= from && t.at <= to);
  const codes: Record<number, number> = {};
  for (const t of inside) codes[t.status] = (codes[t.status] ?? 0) + 1;
  const alerts = inside.reduce((n, t) => n + t.alerts, 0);
  return (
    `${inside.length} requests (${alerts} alerts; status ${JSON.stringify(codes)}): ` +
    spread(inside.map((t) => t.ms))
  );
}

/** Received (first firing delivery forwarded to serve) → heal job scheduled, per job seen. */
export function decisionLatencies(
  jobs: Map<string, ScheduledJob>,
  firstFiring: Map<string, number>,
): number[] {
  const out: number[] = [];
  for (const job of jobs.values()) {
    const received = firstFiring.get(episodeKey(job.node, job.alertname, job.startsAt));
    if (received !== undefined) out.push(job.scheduledAt - received);
  }
  return out;
}

/** Alert startsAt → its first firing delivery forwarded to serve: how far behind the chain ran. */
export function deliveryLags(firstFiring: Map<string, number>): number[] {
  const out: number[] = [];
  for (const [key, at] of firstFiring) out.push((at - Date.parse(key.split('|')[2] ?? '')) / 1000);
  return out;
}

/** The heal record's own view: received → scheduled (serve) and due → heal created (worker). */
export function healLatencies(heals: HealRecord[]) {
  return {
    dueToCreated: heals.map((h) => (h.createdAt - (h.origin?.dueAt ?? NaN)) / 1000),
  };
}

export interface StormTransitions {
  /** Epoch ms of every change of the gauge, with its new value. */
  gauge: { at: number; value: number | undefined }[];
  pools: { at: number; storm: string[]; recovering: string[] }[];
  maxInFlight: number;
  maxPerPool: number;
}

export function stormTransitions(samples: StormSample[]): StormTransitions {
  const gauge: StormTransitions['gauge'] = [];
  const pools: StormTransitions['pools'] = [];
  let lastPools = '';
  for (const s of samples) {
    if (s.gauge !== undefined && gauge.at(-1)?.value !== s.gauge) {
      gauge.push({ at: s.at, value: s.gauge });
    }
    const key = `${s.stormPools.join(',')}/${s.recovering.join(',')}`;
    if (key !== lastPools) {
      pools.push({ at: s.at, storm: s.stormPools, recovering: s.recovering });
      lastPools = key;
    }
  }
  return {
    gauge,
    pools,
    maxInFlight: Math.max(0, ...samples.map((s) => s.inFlight)),
    maxPerPool: Math.max(0, ...samples.map((s) => s.maxPerPool)),
  };
}

/** Used memory above the baseline per pending job, at the sample with the most pending jobs. */
export function memoryPerPending(memory: MemorySample[], baseline: number) {
  const peak = memory.reduce<MemorySample | undefined>(
    (best, m) => (best === undefined || m.pending > best.pending ? m : best),
    undefined,
  );
  if (peak === undefined || peak.pending === 0) return undefined;
  return {
    at: peak.at,
    pending: peak.pending,
    deltaBytes: peak.usedBytes - baseline,
    perPendingBytes: (peak.usedBytes - baseline) / peak.pending,
  };
}
