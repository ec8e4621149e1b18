// Scenario: Redis unreachable for CHAOS_REDIS_OUTAGE_S (default 30 s) while a real Alertmanager
// (Debian's prometheus-alertmanager, group_wait 1 s, group_interval 2 s) keeps sending to
// `nodeheal serve`. Redis is stopped (connections refused), then started again from its AOF on the
// same port. Alerts are posted to Alertmanager before the outage and at random moments in it, and
// one alert of the first wave resolves during it. Must hold: serve answers 503 while Redis is down
// and never 200 (an alert answered 200 must be stored); Alertmanager counts failed webhook
// requests and retries; once Redis is back every firing alert has exactly one heal job (the debounce is an
// hour: nothing acts) and its entry in the alert log, and the resolved one left no job (and, when
// its firing was stored before the outage, a resolved entry and a history that says so).
// Reports when, after Redis came back, the last alert was stored (its alert-log entry's id is the
// time Redis stored it).
import { Redis } from 'ioredis';
import { readHistory } from '../../src/store/index.ts';
import { uniqueName } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import type { ManagedProcess } from '../stack/process.ts';
import {
  emptyStack,
  restartRedis,
  startAlertmanagers,
  startRedis,
  type AlertmanagerSet,
  type Stack,
} from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import {
  alertmanagerNotifications,
  postAlerts,
  type PostedAlert,
} from '../integration/support/alertmanager-client.ts';
import { inspectQueue } from '../integration/support/queue-inspector.ts';
import {
  shortDebounceCatalog,
  startNodeheal,
  type NodehealProcess,
} from '../integration/support/nodeheal-process.ts';
import type { Rng } from './rng.ts';
import { runRounds, type Tally } from './tally.ts';

export const REDIS_UNREACHABLE_AM = 'redis-unreachable-am';
const TOKEN = 'chaos-am-token';
const FAULT = 'kernel-deadlock';
const BEFORE = 8;
const WAVES = 3;
const PER_WAVE = 4;
/** The outage starts this long at most after the first alerts were posted (group_wait is 1 s). */
const START_WINDOW_MS = 3000;

export function outageSeconds(): number {
  const s = Number(process.env.CHAOS_REDIS_OUTAGE_S ?? 30);
  if (!(s > 0)) throw new Error(`CHAOS_REDIS_OUTAGE_S: a number of seconds > 0, not ${s}`);
  return s;
}

export interface UnreachableRig {
  stack: Stack;
  redis: ManagedProcess;
  redisUrl: string;
  nodeheal: NodehealProcess;
  am: AlertmanagerSet;
  stop(): Promise<void>;
}

export async function startUnreachableRig(kubeconfig: string): Promise<UnreachableRig> {
  const stack = emptyStack();
  const redis = await startRedis(stack, 'redis-unreachable');
  const redisUrl = stack.info.redisUrl!;
  const nodeheal = await startNodeheal(
    {
      NODEHEAL_REDIS_URL: redisUrl,
      KUBECONFIG: kubeconfig,
      NODEHEAL_WEBHOOK_TOKEN: TOKEN,
      NODEHEAL_LOG_LEVEL: 'warn',
    },
    shortDebounceCatalog('1h'),
  );
  const am = await startAlertmanagers(stack, {
    flavor: 'debian',
    count: 1,
    name: 'am-unreachable',
    webhook: { url: `${nodeheal.url}/webhook/alertmanager`, bearerToken: TOKEN },
  });
  return {
    stack,
    redis,
    redisUrl,
    nodeheal,
    am,
    stop: async () => {
      await nodeheal.stop();
      await stack.stop();
    },
  };
}

function alert(node: string, startsAt: Date, endsAt?: Date): PostedAlert {
  return {
    labels: { alertname: 'NodeKernelDeadlock', node, severity: 'critical' },
    startsAt: startsAt.toISOString(),
    ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
  };
}

/** node → [status, ms Redis stored it] of every alert-log entry of `nodes`. */
async function alertLog(redisUrl: string, nodes: Set<string>) {
  const client = new Redis(redisUrl);
  try {
    const found = new Map<string, { status: string; at: number }[]>();
    for (const [id, fields] of await client.xrange('nodeheal:alerts', '-', '+')) {
      const record = JSON.parse(fields[1] ?? '{}') as { node?: string; status?: string };
      if (!record.node || !nodes.has(record.node)) continue;
      const list = found.get(record.node) ?? [];
      list.push({ status: record.status ?? '?', at: Number(id.split('-')[0]) });
      found.set(record.node, list);
    }
    return found;
  } finally {
    client.disconnect();
  }
}

async function resolvedInHistory(redisUrl: string, node: string): Promise<boolean> {
  const client = new Redis(redisUrl);
  try {
    const history = await readHistory(client, `heal:${node}:${FAULT}`);
    return history !== undefined && history.active.length === 0 && history.resolved.length > 0;
  } finally {
    client.disconnect();
  }
}

interface Counters {
  ok: number;
  unavailable: number;
  /** Webhook requests of Alertmanager that failed, each retry counted. */
  amRequestsFailed: number;
  /** Notifications Alertmanager gave up on (all its retries failed until its timeout). */
  amFailed: number;
}

async function amRequestsFailed(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('alertmanager_notification_requests_failed_total{'))
    .filter((l) => l.includes('integration="webhook"'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function counters(rig: UnreachableRig): Promise<Counters> {
  const code = (c: string) => rig.nodeheal.metric('nodeheal_webhook_requests_total', { code: c });
  return {
    ok: await code('200'),
    unavailable: await code('503'),
    amRequestsFailed: await amRequestsFailed(rig.am.urls[0]!),
    amFailed: (await alertmanagerNotifications(rig.am.urls[0]!)).failed,
  };
}

/** Posts `alerts` to Alertmanager `atMs` after `from`. */
async function postAt(rig: UnreachableRig, from: number, atMs: number, alerts: PostedAlert[]) {
  await sleep(Math.max(0, from + atMs - Date.now()));
  await postAlerts(rig.am.urls[0]!, alerts);
}

interface RoundPlan {
  round: number;
  /** Firing at the end: each must have one job and its firing entry in the alert log. */
  firing: string[];
  /**
   * Resolved during the outage: no job; its resolved entry and a history that says so when its
   * firing was delivered before the outage (Alertmanager sends no resolved-only notification for
   * an alert it never notified as firing).
   */
  resolved: string;
  all: Set<string>;
  /** When Redis went down. */
  downAt: number;
}

/** True when the resolved alert's firing was stored before the outage (so it must resolve). */
function firingBefore(plan: RoundPlan, log: Map<string, { status: string; at: number }[]>) {
  return (log.get(plan.resolved) ?? []).some((e) => e.status === 'firing' && e.at < plan.downAt);
}

/** Jobs of each node of the round, in every state. */
async function jobCounts(redisUrl: string, nodes: Set<string>): Promise<Map<string, number>> {
  const queue = inspectQueue(redisUrl);
  try {
    const counts = new Map<string, number>();
    for (const n of nodes) counts.set(n, (await queue.jobsFor(`heal:${n}:${FAULT}`)).length);
    return counts;
  } finally {
    await queue.close();
  }
}

/** Waits for every alert Alertmanager had to be in Redis; the alert log then, or a problem. */
async function delivered(redisUrl: string, plan: RoundPlan, tally: Tally) {
  const complete = async () => {
    const count = await jobCounts(redisUrl, plan.all);
    const log = await alertLog(redisUrl, plan.all);
    const has = (n: string, status: string) => log.get(n)?.some((e) => e.status === status);
    const firingIn = plan.firing.every((n) => (count.get(n) ?? 0) >= 1 && has(n, 'firing'));
    const resolvedIn =
      count.get(plan.resolved) === 0 &&
      (!firingBefore(plan, log) || has(plan.resolved, 'resolved'));
    return firingIn && resolvedIn ? log : undefined;
  };
  return await eventually('every alert Alertmanager had, in Redis', complete, 120_000, 200).catch(
    (error: unknown) => {
      tally.problems.push(`round ${plan.round}: ${String(error)}`);
      return new Map<string, { status: string; at: number }[]>();
    },
  );
}

/** One job per firing alert, none for the resolved one, and its history says it resolved. */
async function countJobs(
  redisUrl: string,
  plan: RoundPlan,
  tally: Tally,
  log: Map<string, { status: string; at: number }[]>,
): Promise<void> {
  const { round, firing, resolved } = plan;
  const final = await jobCounts(redisUrl, plan.all);
  tally.expected += firing.length;
  tally.recorded += firing.reduce((n, node) => n + (final.get(node) ?? 0), 0);
  const missing = firing.filter((n) => (final.get(n) ?? 0) === 0);
  tally.lost += missing.length;
  if (missing.length > 0)
    tally.problems.push(`round ${round}: never recorded: ${missing.join(', ')}`);
  const doubled = [...final].filter(([, c]) => c > 1);
  tally.doubled += doubled.length;
  if (doubled.length > 0) {
    const list = doubled.map(([n, c]) => `${n}×${c}`).join(', ');
    tally.problems.push(`round ${round}: doubled: ${list}`);
  }
  if ((final.get(resolved) ?? 0) !== 0)
    tally.problems.push(`round ${round}: ${resolved} resolved in the outage, still has a job`);
  if (firingBefore(plan, log) && !(await resolvedInHistory(redisUrl, resolved)))
    tally.problems.push(`round ${round}: ${resolved}'s history does not show it resolved`);
}

/** serve never answered 200 while Redis was down, did answer 503, and Alertmanager saw it fail. */
function checkOutageAnswers(tally: Tally, round: number, atStop: Counters, atRestart: Counters) {
  if (atRestart.ok > atStop.ok) {
    const n = atRestart.ok - atStop.ok;
    tally.problems.push(`round ${round}: ${n} deliveries answered 200 while Redis was down`);
  }
  if (atRestart.unavailable === atStop.unavailable)
    tally.problems.push(`round ${round}: no delivery answered 503 while Redis was down`);
  if (atRestart.amRequestsFailed === atStop.amRequestsFailed)
    tally.problems.push(`round ${round}: Alertmanager counted no failed webhook request`);
}

const s1 = (ms: number) => (ms / 1000).toFixed(1);

async function oneRound(
  rig: UnreachableRig,
  rng: Rng,
  tally: Tally,
  round: number,
  log: (line: string) => void,
) {
  const outageMs = outageSeconds() * 1000;
  const prefix = uniqueName('ru');
  const before = Array.from({ length: BEFORE }, (_, i) => `${prefix}-b${i}`);
  const waves = Array.from({ length: WAVES }, (_, w) =>
    Array.from({ length: PER_WAVE }, (_, i) => `${prefix}-w${w}-${i}`),
  );
  const plan: RoundPlan = {
    round,
    resolved: before[0]!,
    firing: [...before.slice(1), ...waves.flat()],
    all: new Set([...before, ...waves.flat()]),
    downAt: 0,
  };
  const startsAt = new Date();

  await postAlerts(
    rig.am.urls[0]!,
    before.map((n) => alert(n, startsAt)),
  );
  const lead = rng.between(0, START_WINDOW_MS);
  await sleep(lead);
  await rig.redis.stop();
  const downAt = Date.now();
  plan.downAt = downAt;
  // A delivery written before Redis went has its answer on the way: let it through first.
  await sleep(500);
  const atStop = await counters(rig);
  const moments = waves.map(() => rng.between(0, outageMs - 1000));
  const resolveAt = rng.between(0, outageMs - 1000);
  await Promise.all([
    ...waves.map((wave, w) =>
      postAt(
        rig,
        downAt,
        moments[w]!,
        wave.map((n) => alert(n, startsAt)),
      ),
    ),
    postAt(rig, downAt, resolveAt, [alert(plan.resolved, startsAt, new Date(downAt + resolveAt))]),
  ]);
  await sleep(Math.max(0, downAt + outageMs - Date.now()));
  const atRestart = await counters(rig);
  rig.redis = await restartRedis(rig.stack, rig.redis);
  const backAt = Date.now();
  tally.faults += 1;
  checkOutageAnswers(tally, round, atStop, atRestart);

  const stored = await delivered(rig.redisUrl, plan, tally);
  // Stable, not a passing moment: Alertmanager may still retry a notification it sent.
  await sleep(5000);
  await countJobs(rig.redisUrl, plan, tally, stored);
  const entries = [...stored.values()].flat();
  const storedBefore = entries.filter((e) => e.at < downAt).length;
  const last = entries.length > 0 ? s1(Math.max(...entries.map((e) => e.at)) - backAt) : '-';
  log(
    `  ${REDIS_UNREACHABLE_AM} round ${round}: Redis down ${lead} ms after ${BEFORE} alerts were ` +
      `posted (${storedBefore} stored before it) for ${outageMs / 1000} s; waves at ` +
      `${moments.map(s1).join(', ')} s and the resolve at ${s1(resolveAt)} s into it; ` +
      `${atRestart.unavailable - atStop.unavailable} deliveries answered 503, ` +
      `${atRestart.ok - atStop.ok} answered 200; Alertmanager counted ` +
      `${atRestart.amRequestsFailed - atStop.amRequestsFailed} failed requests, ` +
      `${atRestart.amFailed - atStop.amFailed} notifications given up; ` +
      `last alert stored ${last} s after Redis came back`,
  );
}

/** Runs `rounds` outages of Redis under a sending Alertmanager. */
export async function unreachableRounds(
  rig: UnreachableRig,
  rng: Rng,
  rounds: number,
  log: (line: string) => void,
): Promise<Tally> {
  return await runRounds(REDIS_UNREACHABLE_AM, rounds, (tally, round) =>
    oneRound(rig, rng, tally, round, log),
  );
}
