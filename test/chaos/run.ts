// `npm run chaos`: faults injected into real processes at random moments, counted. Starts its own
// stack (Kubernetes: etcd, kube-apiserver with its audit log, controllers, KWOK; Redis per
// scenario), runs each scenario CHAOS_ROUNDS times (default 20), and prints per scenario the
// rounds, heals (or acknowledged alerts) expected and recorded, lost, doubled, the Events,
// evictions and provider calls seen by the apiserver against the heal records. Exits 1 when
// anything was lost, doubled or did not match.
//
// Environment: CHAOS_ROUNDS (default 20), CHAOS_SCENARIOS (comma-separated; default all of
// worker-kill, apiserver-restart, redis-kill, redis-restart-pending, redis-unreachable-am,
// redis-cut), CHAOS_SEED (the random timing of an earlier run, printed at start),
// CHAOS_REDIS_OUTAGE_S (how long Redis is down in redis-unreachable-am; default 30).
import { adminClients } from '../stack/helpers/kube.ts';
import {
  APISERVER_RESTART,
  apiserverRestartRounds,
  startApiserverRestartHarness,
} from './apiserver-restart.ts';
import { startStack } from '../stack/stack.ts';
import { PENDING_RESTART, pendingRestartRounds, startPendingRig } from './pending-restart.ts';
import { REDIS_CUT, redisCutRounds, startRedisCutRig } from './redis-cut.ts';
import {
  REDIS_UNREACHABLE_AM,
  startUnreachableRig,
  unreachableRounds,
} from './redis-unreachable-am.ts';
import { REDIS_KILL, redisKillRounds, startRedisKillRig } from './redis-kill.ts';
import { rngFromEnv } from './rng.ts';
import { clean, tallyLines, type Tally } from './tally.ts';
import { WORKER_KILL, startWorkerKillHarness, workerKillRounds } from './worker-kill.ts';
import type { ChaosCluster } from './heal-accounting.ts';

const ALL = [
  WORKER_KILL,
  APISERVER_RESTART,
  REDIS_KILL,
  PENDING_RESTART,
  REDIS_UNREACHABLE_AM,
  REDIS_CUT,
];
const rounds = Number(process.env.CHAOS_ROUNDS ?? 20);
const chosen = (process.env.CHAOS_SCENARIOS ?? ALL.join(',')).split(',').filter(Boolean);
const unknown = chosen.filter((s) => !ALL.includes(s));
if (unknown.length > 0 || !(rounds >= 1)) {
  console.error(
    `CHAOS_SCENARIOS: one of ${ALL.join(', ')}; CHAOS_ROUNDS ≥ 1 (${unknown.join(', ')})`,
  );
  process.exit(2);
}

const rng = rngFromEnv();
console.log(`chaos: ${rounds} rounds of ${chosen.join(', ')}; CHAOS_SEED=${rng.seed}`);
const stack = await startStack({ mode: 'attached', parts: ['kube'] });
const tallies: Tally[] = [];
const started = Date.now();
try {
  const cluster: ChaosCluster = {
    kube: adminClients(stack.info),
    stack: stack.info,
    rng,
    log: (line) => console.log(line),
  };
  if (chosen.includes(WORKER_KILL)) {
    const harness = await startWorkerKillHarness(cluster);
    try {
      tallies.push(await workerKillRounds(cluster, harness, rounds));
    } finally {
      await harness.stop();
    }
  }
  if (chosen.includes(APISERVER_RESTART)) {
    const harness = await startApiserverRestartHarness(cluster);
    try {
      tallies.push(await apiserverRestartRounds(cluster, stack, harness, rounds));
    } finally {
      await harness.stop();
    }
  }
  if (chosen.includes(REDIS_KILL)) {
    const rig = await startRedisKillRig(stack.info.kubeconfig!);
    try {
      tallies.push(await redisKillRounds(rig, rng, rounds, cluster.log));
    } finally {
      await rig.stop();
    }
  }
  if (chosen.includes(PENDING_RESTART)) {
    const rig = await startPendingRig(cluster);
    try {
      tallies.push(await pendingRestartRounds(cluster, rig, rounds));
    } finally {
      await rig.stop();
    }
  }
  if (chosen.includes(REDIS_UNREACHABLE_AM)) {
    const rig = await startUnreachableRig(stack.info.kubeconfig!);
    try {
      tallies.push(await unreachableRounds(rig, rng, rounds, cluster.log));
    } finally {
      await rig.stop();
    }
  }
  if (chosen.includes(REDIS_CUT)) {
    const rig = await startRedisCutRig(cluster);
    try {
      tallies.push(await redisCutRounds(cluster, rig, rounds));
    } finally {
      await rig.stop();
    }
  }
} finally {
  // A failed run keeps the stack's logs (kube-controller-manager, KWOK...) for the post-mortem.
  await stack.stop({ keepLogs: !tallies.every(clean) });
}
console.log('');
console.log(
  `chaos, counted (${((Date.now() - started) / 1000).toFixed(0)} s, CHAOS_SEED=${rng.seed}):`,
);
for (const tally of tallies) console.log(tallyLines(tally).join('\n'));
process.exitCode = tallies.every(clean) ? 0 : 1;
