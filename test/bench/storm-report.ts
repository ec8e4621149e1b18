// The printed result of `npm run bench:storm`: the safety claims with PASS or FAIL, then the
// figures. Returns false when a safety claim failed.
import type { HealRecord } from '../../src/heal/index.ts';
import type { StormCount } from './storm-count.ts';
import {
  bucketQuantile,
  decisionLatencies,
  deliveryLags,
  healLatencies,
  memoryPerPending,
  spread,
  stormTransitions,
  webhookLine,
  type Buckets,
} from './storm-figures.ts';
import { STORM_POOL, type StormPlan } from './storm-plan.ts';
import type { TimingProxy } from './storm-proxy.ts';
import type { StormWatch } from './storm-watch.ts';

/** The worker's budgets (DESIGN.md defaults, left as they are by the benchmark). */
const POOL_BUDGET = 1;
const CLUSTER_BUDGET = 3;

export interface StormRun {
  plan: StormPlan;
  seconds: number;
  debounceMs: number;
  stormCooldownMs: number;
  startedAt: number;
  windowEnd: number;
  count: StormCount;
  watch: StormWatch;
  proxy: TimingProxy;
  baselineBytes: number;
  finalBytes: number;
  amBefore: Buckets[];
  amAfter: Buckets[];
  stormBlocks: number;
  sends: { ok: number; failed: number; alerts: number };
  sendLagMs: number[];
  postMs: number[];
  heals: HealRecord[];
  poolSeconds: number;
  runSeconds: number;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function claim(ok: boolean, text: string): boolean {
  console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  return ok;
}

function byStatus(heals: HealRecord[]): string {
  const counts: Record<string, number> = {};
  for (const h of heals)
    counts[`${h.fault}:${h.status}`] = (counts[`${h.fault}:${h.status}`] ?? 0) + 1;
  return JSON.stringify(counts);
}

export function printReport(run: StormRun): boolean {
  const { plan, count, watch, startedAt } = run;
  const rel = (at: number) => `t+${((at - startedAt) / 1000).toFixed(1)} s`;
  const storm = stormTransitions(watch.samples);
  const transient = count.transient;
  const transientActions = transient.heals.length + transient.events + transient.cordoned.length;
  const handled = (count.sickStatus.healed ?? 0) + (count.sickStatus.skipped ?? 0);
  const stormOn = storm.pools.find((p) => p.storm.includes(STORM_POOL));
  const stormOff = stormOn
    ? storm.pools.find((p) => p.at > stormOn.at && !p.storm.includes(STORM_POOL))
    : undefined;
  const gaugeOn = storm.gauge.find((g) => g.value === 1);
  const gaugeOff = gaugeOn
    ? storm.gauge.find((g) => g.at > gaugeOn.at && g.value === 0)
    : undefined;
  const otherStorms = [...new Set(storm.pools.flatMap((p) => p.storm))].filter(
    (p) => p !== STORM_POOL,
  );

  console.log('');
  console.log(
    `# Storm (${plan.nodes.length} nodes, ${plan.alerts.length} alerts in ${run.seconds} s, debounce ${run.debounceMs / 1000} s)`,
  );
  console.log(
    `sent to the 2 Alertmanagers: ${run.sends.ok} POSTs accepted, ${run.sends.failed} failed, ${run.sends.alerts} alerts in them (new, re-sent and resolved, both counted)`,
  );
  console.log('safety:');
  let ok = claim(
    transientActions === 0,
    `actions on transient faults: ${transient.heals.length} heal records ${byStatus(transient.heals)}, ` +
      `${transient.events} nodeheal Events ${JSON.stringify(transient.eventReasons)}, ${transient.cordoned.length} cordoned nodes (target 0)`,
  );
  ok =
    claim(
      handled === plan.sick.length && count.sickHealedTwice.length === 0,
      `persistent faults handled: ${handled} of ${plan.sick.length} sick nodes ${JSON.stringify(count.sickStatus)}; ` +
        `nodes with more than one heal: ${count.sickHealedTwice.length}; their Events ${JSON.stringify(count.sick.events === 0 ? {} : count.sick.eventReasons)}`,
    ) && ok;
  ok =
    claim(
      storm.maxInFlight <= CLUSTER_BUDGET && storm.maxPerPool <= POOL_BUDGET,
      `budget: at most ${storm.maxInFlight} heals holding a slot at once (cluster budget ${CLUSTER_BUDGET}), ` +
        `${storm.maxPerPool} in one pool (pool budget ${POOL_BUDGET}); sampled every 250 ms from the budget in Redis`,
    ) && ok;
  ok =
    claim(
      stormOn !== undefined && stormOff !== undefined && otherStorms.length === 0,
      `storm mode: pool ${STORM_POOL} in storm from ${stormOn ? rel(stormOn.at) : 'never'} to ${stormOff ? rel(stormOff.at) : 'never'} ` +
        `(blip ${rel(startedAt + plan.blip.startMs)} → ${rel(startedAt + plan.blip.endMs)}, storm cooldown ${run.stormCooldownMs / 1000} s); ` +
        `other pools in storm: ${otherStorms.length === 0 ? 'none' : otherStorms.join(', ')}; heal steps held by the storm gate: ${run.stormBlocks}`,
    ) && ok;
  console.log(
    `  nodeheal_storm_active (worker): ${storm.gauge.map((g) => `${g.value} at ${rel(g.at)}`).join(', ') || 'never read'}` +
      ` (on ${gaugeOn ? rel(gaugeOn.at) : 'never'}, off ${gaugeOff ? rel(gaugeOff.at) : 'never'})`,
  );
  for (const p of storm.pools) {
    console.log(
      `    ${rel(p.at)}: storm [${p.storm.join(', ')}] recovering [${p.recovering.join(', ')}]`,
    );
  }

  console.log('figures:');
  const mem = memoryPerPending(watch.memory, run.baselineBytes);
  console.log(
    mem
      ? `  Redis memory per pending heal: ${kib(mem.perPendingBytes)} (${mib(mem.deltaBytes)} above the idle baseline with ${mem.pending} jobs pending, the most seen, at ${rel(mem.at)}; includes the fault histories of alerts resolved by then)`
      : '  Redis memory per pending heal: no pending job was seen',
  );
  console.log(
    `  Redis used memory: baseline ${mib(run.baselineBytes)}, peak ${mib(Math.max(...watch.memory.map((m) => m.usedBytes)))}, after the storm ${mib(run.finalBytes)} (${kib((run.finalBytes - run.baselineBytes) / plan.alerts.length)} per alert sent: fault histories kept for flap detection)`,
  );
  console.log(
    `  webhook, nodeheal's answer time at the pass-through, during the storm (window + debounce): ${webhookLine(run.proxy.timings, startedAt, run.windowEnd + run.debounceMs)}`,
  );
  console.log(
    `  webhook, Alertmanager's alertmanager_notification_latency_seconds (both, same span; bucket bounds): p50 ${bucketQuantile(run.amBefore, run.amAfter, 50)}, p99 ${bucketQuantile(run.amBefore, run.amAfter, 99)}`,
  );
  console.log(
    `  the chain's lag: sender, planned start → first POST: ${spread(
      run.sendLagMs.map((v) => v / 1000),
      's',
      2,
    )}; POST /api/v2/alerts: ${spread(run.postMs)}`,
  );
  const lags = deliveryLags(run.proxy.firstFiring);
  console.log(
    `  the chain's lag: alert startsAt → first firing delivery at serve: ${spread(lags, 's', 2)}; ${lags.filter((l) => l * 1000 >= run.debounceMs).length} episodes arrived at or past their debounce`,
  );
  console.log(
    `  decision latency, alert first forwarded to serve → heal job scheduled (job scheduledAt): ${spread(decisionLatencies(watch.jobs, run.proxy.firstFiring))}`,
  );
  const storming = new Set(plan.stormPoolSick);
  const lat = (heals: HealRecord[]) => healLatencies(heals).dueToCreated;
  console.log(
    `  heal due → heal started by the worker (record createdAt − origin.dueAt), sick nodes outside the storm pool: ${spread(lat(run.heals.filter((h) => !storming.has(h.node))), 's', 2)}`,
  );
  console.log(
    `  heal due → ended, storm pool (held by storm mode): ${run.heals
      .filter((h) => storming.has(h.node))
      .map(
        (h) =>
          `${h.node} ${h.status} ${(((h.endedAt ?? NaN) - (h.origin?.dueAt ?? NaN)) / 1000).toFixed(1)} s`,
      )
      .join(', ')}`,
  );
  console.log(
    `  KWOK nodes Ready in ${run.poolSeconds.toFixed(1)} s; whole run ${run.runSeconds.toFixed(0)} s`,
  );
  return ok;
}
