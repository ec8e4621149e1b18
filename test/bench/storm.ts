// `npm run bench:storm`: an alert storm through a real Alertmanager HA pair into nodeheal
// (issue 16, item 2). Holds /tmp/nodeheal-stack.lock for its whole run (the npm script takes it).
//
// A stack with Kubernetes only (KWOK Leases at a kubelet's 40 s, as bench:scale), --nodes KWOK
// nodes in pools (storm-plan.ts), nodeheal's serve and worker processes on a private Redis (the
// heal tests' harness: chart RBAC, KWOK provider, budgets 1 per pool and 3 per cluster), and two
// Debian Alertmanagers peered on loopback whose webhook receiver (max_alerts: 0, group_wait 1 s,
// group_interval 2 s) reaches serve through a timing pass-through (storm-proxy.ts). Then
// --alerts alerts are sent over --seconds seconds to both Alertmanagers, as Prometheus sends them
// (storm-sender.ts): 95 % resolve inside their debounce, 5 % persist until their node's heal ends.
// Prints what nodeheal did (storm-count.ts), storm mode over time, the budget held, Redis memory
// per pending heal, webhook latency and decision latency (storm-watch.ts, storm-figures.ts).
// Exits 1 when a safety claim fails (an action on a transient fault, a persistent fault not
// handled, a budget exceeded, storm mode not engaged or not released).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { nodehealKubeconfig } from '../integration/support/nodeheal-identity.ts';
import { HARNESS_WEBHOOK_TOKEN, startHarness } from '../integration/support/heal-harness.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel, readyStatus } from '../stack/helpers/pool.ts';
import { startAlertmanagers, startStack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import { allHeals, countActions } from './storm-count.ts';
import { explainTransientHeals } from './storm-explain.ts';
import { printReport } from './storm-report.ts';
import { planStorm, planSummary, PERSISTENT_FAULT, TRANSIENT_ALERTS } from './storm-plan.ts';
import { CONFIRMATION_RESULTS } from '../../src/heal/index.ts';
import { alertmanagerBuckets } from './storm-figures.ts';
import { startTimingProxy } from './storm-proxy.ts';
import { startSender } from './storm-sender.ts';
import { pendingJobs, startStormWatch, usedMemory } from './storm-watch.ts';

const { values: flags } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    alerts: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
    debounce: { type: 'string', default: '20' },
    'storm-cooldown': { type: 'string', default: '10' },
    'heals-timeout': { type: 'string', default: '600' },
    // Seconds; default the debounce less 8 s. Shorter leaves the delivery chain more room.
    'transient-max': { type: 'string', default: '' },
    // Off: the worker does not ask Alertmanager before a heal's first action (the run before it).
    'no-confirm': { type: 'boolean', default: false },
  },
});
const confirm = !flags['no-confirm'];
const num = (name: keyof typeof flags) => {
  const v = Number(flags[name]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number, got ${flags[name]}`);
    process.exit(2);
  }
  return v;
};
const nodes = Math.round(num('nodes'));
const alerts = Math.round(num('alerts'));
const seconds = num('seconds');
const debounceMs = num('debounce') * 1000;
const stormCooldownMs = num('storm-cooldown') * 1000;
/** The persistent heals get this long after the storm's window to end. */
const HEALS_TIMEOUT_MS = num('heals-timeout') * 1000;

const transientMaxMs = flags['transient-max'] ? num('transient-max') * 1000 : undefined;
const plan = planStorm({
  nodes,
  alerts,
  seconds,
  debounceMs,
  ...(transientMaxMs === undefined ? {} : { transientMaxMs }),
});
console.log(
  `storm benchmark: ${planSummary(plan)}; ${seconds} s, debounce ${debounceMs / 1000} s, transient alerts 2–${(plan.blip.endMs - plan.blip.startMs) / 1000} s; ${confirm ? 'faults confirmed with Alertmanager before a first action' : 'no confirmation before a first action (--no-confirm)'}`,
);

async function buildPools(kube: KubeClients): Promise<number> {
  const began = performance.now();
  for (const pool of plan.pools) {
    await createNodePool(kube, { name: pool.name, size: pool.size, waitReady: false });
  }
  const names = new Set(plan.pools.map((p) => p.name));
  await eventually(
    `${plan.nodes.length} nodes Ready`,
    async () => {
      const list = await kube.core.listNode({ labelSelector: poolLabel });
      const ready = list.items.filter(
        (n) =>
          names.has(n.metadata?.labels?.[poolLabel] ?? '') &&
          readyStatus(n) === 'True' &&
          !n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready'),
      );
      return ready.length === plan.nodes.length;
    },
    600_000,
    1000,
  );
  return (performance.now() - began) / 1000;
}

const runStarted = performance.now();
const stack = await startStack({
  mode: 'attached',
  parts: ['kube'],
  nodeLeaseDurationSeconds: 40,
  nodeMonitorGracePeriodSeconds: 50,
});
// Stopping twice is harmless: the finally block stops whatever is still running.
const cleanup: (() => Promise<void>)[] = [];
try {
  const kube = adminClients(stack.info);
  const kubeconfig = (await nodehealKubeconfig(kube, stack.info)).path;
  const poolSeconds = await buildPools(kube);
  console.log(`  ${plan.nodes.length} nodes Ready in ${poolSeconds.toFixed(1)} s`);

  const debounce = `${debounceMs / 1000}s`;
  const faultSettings = Object.fromEntries(
    [...Object.keys(TRANSIENT_ALERTS), PERSISTENT_FAULT].map((f) => [f, { debounce }]),
  );
  const workerEnv: Record<string, string> = {
    NODEHEAL_SAFETY: JSON.stringify({ nodeCooldownMs: 0, stormCooldownMs }),
    NODEHEAL_LOG_LEVEL: 'warn',
  };
  // The worker starts once the Alertmanagers are up: it asks one of them, before a heal's first
  // action, whether the fault is still there (a late firing notification of a resolved alert).
  const harness = await startHarness({
    kubeconfig,
    faultSettings,
    ladders: { [PERSISTENT_FAULT]: [{ action: 'replace', timeout: '300s' }] },
    workerEnv,
    workers: 0,
  });
  cleanup.push(() => harness.stop());
  const proxy = await startTimingProxy(harness.serveUrl);
  cleanup.push(() => proxy.close());
  const pair = await startAlertmanagers(stack, {
    flavor: 'debian',
    count: 2,
    name: 'storm-am',
    webhook: { url: `${proxy.url}/webhook/alertmanager`, bearerToken: HARNESS_WEBHOOK_TOKEN },
  });
  if (confirm) workerEnv.NODEHEAL_ALERTMANAGER_URL = pair.urls[0]!;
  else workerEnv.NODEHEAL_CONFIRM_MAX_WAIT_MS = '0';
  const worker = await harness.startWorker();
  const watch = startStormWatch(harness.redisUrl, worker.url);
  cleanup.push(() => watch.stop());
  await sleep(3000);
  const baselineBytes = await usedMemory(harness.redis);
  const amBefore = await Promise.all(pair.urls.map(alertmanagerBuckets));
  const stormBlocksBefore = await harness.workerMetric('nodeheal_safety_blocked_total', {
    gate: 'storm',
  });

  // This process runs the sender and the pass-through: its own delays are part of what they time.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const startedAt = Date.now() + 1000;
  const windowEnd = startedAt + seconds * 1000;
  const sender = startSender(kube, pair.urls, plan.alerts, startedAt);
  cleanup.push(() => sender.stop());
  // A persistent alert resolves when its node's heal ends (the node is replaced or handed to a
  // human), as kube-state-metrics' series of a deleted node disappear.
  const sick = new Set(plan.sick);
  const ended = new Set<string>();
  let amAfter: Awaited<ReturnType<typeof alertmanagerBuckets>>[] | undefined;
  while (Date.now() < windowEnd + debounceMs || ended.size < sick.size) {
    if (Date.now() > windowEnd + HEALS_TIMEOUT_MS) break;
    if (amAfter === undefined && Date.now() >= windowEnd + debounceMs) {
      amAfter = await Promise.all(pair.urls.map(alertmanagerBuckets));
    }
    // Only the sick nodes still firing: listing every heal each time would load this process,
    // whose event loop also runs the pass-through that times the webhook.
    for (const node of [...sick].filter((n) => !ended.has(n))) {
      const heals = await harness.store.list({ node });
      if (heals.some((h) => h.status !== 'running')) {
        ended.add(node);
        sender.resolveNode(node);
      }
    }
    await sleep(2000);
  }
  amAfter ??= await Promise.all(pair.urls.map(alertmanagerBuckets));
  loopDelay.disable();
  console.log(
    `  this process's event loop delay (sender and pass-through): p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
  );
  const healsDoneAt = Date.now();
  console.log(
    `  persistent heals ended: ${ended.size} of ${sick.size}, ${((healsDoneAt - windowEnd) / 1000).toFixed(0)} s after the window`,
  );
  sender.resolveAll();
  await eventually('every resolved alert sent', () => sender.done(), 60_000, 500).catch(() => 0);
  // Resolved notifications arrive within group_interval; then nothing may be pending.
  await eventually(
    'no pending heal job',
    async () => (await pendingJobs(harness.redis)) === 0,
    90_000,
    1000,
  ).catch(() => 0);
  await eventually(
    'storm gauge back to 0',
    async () => (await harness.workerMetric('nodeheal_storm_active')) === 0,
    60_000,
    1000,
  ).catch(() => 0);
  await sleep(3000);
  await sender.stop();
  await watch.stop();

  const count = await countActions(kube, harness.store, plan.nodes, plan.sick);
  const stormBlocks =
    (await harness.workerMetric('nodeheal_safety_blocked_total', { gate: 'storm' })) -
    stormBlocksBefore;
  const ok = printReport({
    plan,
    seconds,
    debounceMs,
    stormCooldownMs,
    startedAt,
    windowEnd,
    count,
    watch,
    proxy,
    baselineBytes,
    finalBytes: await usedMemory(harness.redis),
    amBefore,
    amAfter,
    stormBlocks,
    sends: sender.posts(),
    sendLagMs: sender.sendLagMs(),
    postMs: sender.postMs(),
    heals: (await allHeals(harness.store)).filter((h) => sick.has(h.node)),
    poolSeconds,
    runSeconds: (performance.now() - runStarted) / 1000,
  });
  const confirmations = await Promise.all(
    CONFIRMATION_RESULTS.map(
      async (result) =>
        `${result} ${await harness.workerMetric('nodeheal_fault_confirmations_total', { result })}`,
    ),
  );
  console.log(`  checks before a first action (by result): ${confirmations.join(', ')}`);
  await explainTransientHeals(count.transient.heals, harness.redis, proxy, startedAt);
  if (!ok) process.exitCode = 1;
} finally {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await stack.stop();
}
