// `nodeheal worker`: takes due heal jobs and heals nodes (ladder, safety gates, actions).
import { CoreV1Api } from '@kubernetes/client-node';
import express from 'express';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import {
  DryRunDrainer,
  DryRunNodeOps,
  DryRunProvider,
  DryRunRecorder,
  KubeCostReader,
  KubeDrainer,
  KubeNodeOps,
  type HostCommands,
} from '../actions/index.ts';
import { createProviders, selectProvider } from '../providers/index.ts';
import {
  AgentSecretFile,
  agentEndpointForNode,
  agentHostCommands,
  dryRunHostCommands,
} from '../agent/index.ts';
import { loadConfig } from '../config/index.ts';
import { loadWorkerConfig } from '../config/index.ts';
import { redisHealStore } from '../store/index.ts';
import {
  healProcessor,
  healsAbandoned,
  healsAwaitingApproval,
  healsInProgress,
  stepHooks,
  watchStorms,
  type RunnerDeps,
  type StepHooks,
} from '../worker/index.ts';
import { hookCaller } from '../hooks/index.ts';
import { probeApiserver, type ApiserverProbe } from '../kube/index.ts';
import { loadKubeConfig, watchNodes } from '../kube/index.ts';
import { createLogger } from '../log/index.ts';
import {
  createHealMetrics,
  leaseLostCounter,
  observeAgentUnreachable,
  observeHealsAbandoned,
  observeHealsAwaitingApproval,
  observeHealsInProgress,
  observeReplacementNotReady,
  observeHealFinished,
  observeHealStages,
  observeHealStarted,
  observeHealStep,
  observeNotification,
  observePodsEvicted,
  observeRemedyAttempt,
  observeSafetyBlocked,
  observeStorm,
  faultConfirmationsCounter,
} from '../metrics/index.ts';
import { createNotifier, type Notifier } from '../notify/index.ts';
import { startHealWorker } from '../queue/index.ts';
import { bullmqHealScheduler, workerConnection } from '../queue/index.ts';
import { selfFenceApplies } from '../safety/index.ts';
import { confirmDeps, operatorSignalGates } from './worker-signals.ts';
import { statusLinks } from '../status/index.ts';
import { loadRulesOrThrow } from './load-rules.ts';
import { refuseRedisCluster } from './refuse-redis-cluster.ts';

/** `hostCommands`, counting the commands the node agent did not answer. */
function countedHostCommands(
  inner: HostCommands,
  metrics: ReturnType<typeof createHealMetrics>,
): HostCommands {
  return {
    reachable: (node) => inner.reachable(node),
    run: async (node, command, healId) => {
      const result = await inner.run(node, command, healId);
      if (result.outcome === 'unreachable') observeAgentUnreachable(metrics, command);
      return result;
    },
  };
}

function hostCommands(
  config: ReturnType<typeof loadWorkerConfig>,
  nodeOps: KubeNodeOps,
  dryRun: boolean,
): HostCommands {
  if (dryRun) return dryRunHostCommands();
  if (!config.NODEHEAL_AGENT_SECRET_FILE) {
    // Without the agent's secret no host command can be sent: remedies escalate at once.
    return {
      run: () =>
        Promise.resolve({
          outcome: 'unreachable',
          detail: 'no node agent configured (NODEHEAL_AGENT_SECRET_FILE)',
        }),
      reachable: () => Promise.resolve(false),
    };
  }
  const secret = new AgentSecretFile(config.NODEHEAL_AGENT_SECRET_FILE);
  const endpoints = config.NODEHEAL_AGENT_ENDPOINTS ?? {};
  return agentHostCommands({
    secret: () => secret.all()[0] ?? '',
    endpointFor: async (node) =>
      endpoints[node] ??
      agentEndpointForNode((await nodeOps.get(node)) ?? {}, config.NODEHEAL_AGENT_PORT),
    timeoutMs: config.NODEHEAL_AGENT_TIMEOUT_MS,
  });
}

/** The step hooks (NODEHEAL_HOOKS): pre-hooks as gates, post-hooks told results; none in a dry run. */
function hooksOf(
  config: ReturnType<typeof loadWorkerConfig>,
  drainer: KubeDrainer,
  logger: ReturnType<typeof createLogger>,
  dryRun: boolean,
): StepHooks | undefined {
  const hooks = config.NODEHEAL_HOOKS ?? [];
  if (dryRun || hooks.length === 0 || !config.NODEHEAL_HOOK_SECRET_FILE) return undefined;
  let secret: AgentSecretFile;
  try {
    secret = new AgentSecretFile(config.NODEHEAL_HOOK_SECRET_FILE);
  } catch (error) {
    throw new Error(`NODEHEAL_HOOK_SECRET_FILE: ${(error as Error).message}`, { cause: error });
  }
  return stepHooks({
    hooks,
    call: hookCaller({ secret: () => secret.current() }),
    listPods: (node) => drainer.listPods(node),
    logger,
    now: Date.now,
    // A held step asks again after the defer period, doubled per hold up to 5 minutes.
    backoff: {
      baseMs: config.NODEHEAL_DEFER_MS,
      maxMs: Math.max(config.NODEHEAL_DEFER_MS, 300_000),
    },
  });
}

/** Starts the heal worker; resolves once it runs, with a function that stops it gracefully. */
export async function worker(): Promise<() => Promise<void>> {
  const logger = createLogger();
  const config = loadConfig();
  const workerConfig = loadWorkerConfig();
  const catalog = await loadRulesOrThrow(config.NODEHEAL_RULES);
  const kc = loadKubeConfig(config.KUBECONFIG);
  const core = kc.makeApiClient(CoreV1Api);
  const dryRun = config.NODEHEAL_DRY_RUN;
  // NODEHEAL_PUBLIC_URL: Events and the nodeheal.io/heal annotation link to the heal's page.
  const healLink = config.NODEHEAL_PUBLIC_URL
    ? (id: string) => statusLinks(config.NODEHEAL_PUBLIC_URL).heal(id)
    : undefined;
  const realNodeOps = new KubeNodeOps(kc, { logger, healLink });
  const realDrainer = new KubeDrainer(kc, { logger });
  const providers = createProviders(kc, { logger });
  const recorder = new DryRunRecorder();
  const redis = workerConnection(config.redis);
  redis.on('error', (error: Error) =>
    logger.debug({ err: error.message }, 'redis connection error'),
  );
  refuseRedisCluster(redis, logger);
  const metrics = createHealMetrics(undefined, config.NODEHEAL_PUBLIC_URL);
  const nodeCache = watchNodes(kc, logger);
  // Only to wake jobs that joined a heal once it ends; jobs are added by `serve`.
  const queue = bullmqHealScheduler(redis);
  const sinks = workerConfig.NODEHEAL_NOTIFY_SINKS ?? [];
  const notifier = createNotifier({
    sinks,
    // Named after the cluster where one is (NODEHEAL_CLUSTER also scopes alerts, so it is only
    // the fallback); a worker's host name at least tells clusters apart.
    source: `nodeheal/${workerConfig.NODEHEAL_CLUSTER_NAME ?? config.NODEHEAL_CLUSTER ?? hostname()}`,
    ...(healLink ? { link: healLink } : {}),
    logger,
    onResult: (sink, result) => observeNotification(metrics, sink, result),
  });
  // Every sink's series exist from the start, so that a rate() or an alert sees the first failure.
  for (const sink of sinks)
    for (const result of ['delivered', 'failed', 'dropped'])
      observeNotification(metrics, sink.name, result, 0);

  // heal-events reads `notifier` and `healLink` (HealEventDeps) from the runner's deps.
  const hooks = hooksOf(workerConfig, realDrainer, logger, dryRun);
  const confirm = confirmDeps(workerConfig);
  const deps: RunnerDeps & {
    notifier: Notifier;
    healLink: ((healId: string) => string) | undefined;
  } = {
    redis,
    store: redisHealStore(redis),
    nodeOps: dryRun ? new DryRunNodeOps(realNodeOps, recorder) : realNodeOps,
    drainer: dryRun ? new DryRunDrainer(realDrainer, recorder) : realDrainer,
    // Reads only (node-scoped pods, their owners, their namespaces' PDBs): dry runs too.
    costReader: new KubeCostReader(kc, (node) => realDrainer.listPods(node)),
    providerFor: (node) => {
      const provider = selectProvider(
        node,
        workerConfig.NODEHEAL_PROVIDERS ?? [],
        providers,
        workerConfig.NODEHEAL_DEFAULT_PROVIDER,
      );
      if (!provider) return undefined;
      return dryRun ? new DryRunProvider(provider, recorder) : provider;
    },
    selfFenceFor: (node) => {
      const selfFence = workerConfig.NODEHEAL_SELF_FENCE;
      return selfFence && selfFenceApplies(selfFence, node.metadata?.labels ?? {})
        ? selfFence
        : undefined;
    },
    host: countedHostCommands(hostCommands(workerConfig, realNodeOps, dryRun), metrics),
    // Pool health for the gates comes from a watched cache of Nodes: an API list per gate check
    // would cost a round trip between a job becoming due and its first action.
    listNodes: async (labelSelector) => {
      if (nodeCache.synced()) {
        const labels = Object.fromEntries(
          (labelSelector ?? '')
            .split(',')
            .filter(Boolean)
            .map((kv) => kv.split('=', 2) as [string, string]),
        );
        return nodeCache.nodes(labels);
      }
      return (await core.listNode(labelSelector ? { labelSelector } : {})).items;
    },
    catalog: () => catalog,
    safety: workerConfig.NODEHEAL_SAFETY ?? {},
    windows: workerConfig.NODEHEAL_MAINTENANCE_WINDOWS ?? [],
    approvalRules: workerConfig.NODEHEAL_APPROVAL ?? [],
    nodeStartupTimeoutMs: workerConfig.NODEHEAL_NODE_STARTUP_TIMEOUT_MS,
    uncordonSettleMs: workerConfig.NODEHEAL_UNCORDON_SETTLE_MS,
    poolLabels: workerConfig.poolLabels,
    dryRun,
    drain: {
      parallelism: workerConfig.NODEHEAL_DRAIN_PARALLELISM,
      emptyDir: workerConfig.NODEHEAL_DRAIN_EMPTYDIR,
      unmanaged: workerConfig.NODEHEAL_DRAIN_UNMANAGED,
      force: workerConfig.NODEHEAL_DRAIN_FORCE,
      skipWaitForDeleteAfterMs: workerConfig.NODEHEAL_DRAIN_SKIP_WAIT_MS,
    },
    metrics: {
      healStarted: (fault) => observeHealStarted(metrics, fault),
      healFinished: (fault, outcome, duration, tth) =>
        observeHealFinished(metrics, fault, outcome, duration, tth),
      remedyAttempt: (remedy, result) => observeRemedyAttempt(metrics, remedy, result),
      safetyBlocked: (gate) => observeSafetyBlocked(metrics, gate),
      stormActive: (active) => observeStorm(metrics, active),
      replacementNotReady: (pool) => observeReplacementNotReady(metrics, pool),
      leaseLost: leaseLostCounter(metrics.registry),
      healStep: (healId, step) => observeHealStep(metrics, healId, step),
      healStages: (seconds) => observeHealStages(metrics, seconds),
      podsEvicted: (counts) => observePodsEvicted(metrics, counts),
      faultConfirmation: faultConfirmationsCounter(metrics.registry),
    },
    logger,
    now: () => new Date(),
    pollMs: workerConfig.NODEHEAL_VERIFY_POLL_MS,
    deferMs: workerConfig.NODEHEAL_DEFER_MS,
    nodeLockTtlMs: workerConfig.NODEHEAL_NODE_LOCK_TTL_MS,
    jobLockMs: workerConfig.NODEHEAL_WORKER_LOCK_MS,
    surge: workerConfig.NODEHEAL_SURGE,
    wakeJobs: (ids) => queue.wake(ids),
    notifier,
    healLink,
    externalGates: [...operatorSignalGates(workerConfig), ...(hooks?.gates ?? [])],
    ...(confirm ? { confirm } : {}),
    ...(hooks ? { afterStep: hooks.afterStep } : {}),
  };

  // Open the API connection and check nodeheal's own permissions before taking any job, so the
  // first heal does not pay for the TLS handshake and a missing ClusterRole shows at start.
  try {
    await core.listNode({ limit: 1 });
  } catch (error) {
    logger.error({ err: error }, 'cannot list nodes: check KUBECONFIG or the ClusterRole binding');
  }
  // Storm mode is judged from the watched Nodes all the time, not only at a heal's gates.
  const storms = watchStorms({
    redis,
    nodes: () => (nodeCache.synced() ? nodeCache.nodes() : undefined),
    poolLabels: deps.poolLabels,
    safety: deps.safety,
    metrics: deps.metrics,
    logger,
    now: () => new Date(),
  });
  const healWorker = startHealWorker(redis, healProcessor(deps), {
    concurrency: workerConfig.NODEHEAL_WORKER_CONCURRENCY,
    lockDurationMs: workerConfig.NODEHEAL_WORKER_LOCK_MS,
    stalledIntervalMs: workerConfig.NODEHEAL_WORKER_STALLED_MS,
  });

  const apiserver = probeApiserver(kc, { logger });
  const app = express();
  // Process alive, nothing more: a lost Redis or apiserver must not get the worker restarted.
  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok\n'));
  // Able to heal: Redis (jobs, records, locks) and the Kubernetes apiserver both reachable.
  app.get('/readyz', async (_req, res) => {
    const checks = { redis: await redisReadiness(redis), kubernetes: kubeReadiness(apiserver) };
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ ready, checks });
  });
  app.get('/metrics', async (_req, res) => {
    // Per-node heal gauges from Redis; on a Redis problem they keep their last values.
    const gaugeDeps = { redis, store: deps.store, nodes: () => deps.listNodes() };
    await withTimeout(2000, async () => {
      observeHealsInProgress(metrics, await healsInProgress(gaugeDeps));
      observeHealsAbandoned(metrics, await healsAbandoned(gaugeDeps));
      observeHealsAwaitingApproval(metrics, await healsAwaitingApproval(gaugeDeps));
    }).catch((error: unknown) =>
      logger.debug({ err: error }, 'heal gauges not refreshed for this scrape'),
    );
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const [host, port] = splitHostPort(workerConfig.NODEHEAL_WORKER_LISTEN);
  const server: Server = await new Promise((resolveServer, reject) => {
    const s = app.listen(port, host, () => resolveServer(s));
    s.once('error', reject);
  });
  logger.info(
    {
      listen: workerConfig.NODEHEAL_WORKER_LISTEN,
      concurrency: workerConfig.NODEHEAL_WORKER_CONCURRENCY,
      dryRun,
    },
    'nodeheal worker running',
  );

  return async () => {
    logger.info(
      'worker stopping: no new heals; running heals are handed back at their next safe point',
    );
    await healWorker.close().catch(() => undefined);
    storms.stop();
    // The last transitions (a heal handed back, or ended) still get a few seconds to go out.
    await notifier.close(5000);
    await queue.close().catch(() => undefined);
    apiserver.stop();
    await nodeCache.stop().catch(() => undefined);
    await new Promise((r) => server.close(r));
    await redis.quit().catch(() => undefined);
  };
}

/** `ok`, or why the worker's Redis connection cannot be used now (a PING within 1 s). */
async function redisReadiness(redis: ReturnType<typeof workerConnection>): Promise<string> {
  // The worker's connection queues commands while disconnected: ask its state, not a PING.
  if (redis.status !== 'ready') return `Redis connection is ${redis.status}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer to PING within 1000 ms')), 1000);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

function kubeReadiness(apiserver: ApiserverProbe): string {
  const state = apiserver.state();
  return state.ok ? 'ok' : state.detail;
}

/** Runs `work`, rejecting after `ms` (the worker's Redis connection queues while it is down). */
async function withTimeout(ms: number, work: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function splitHostPort(value: string): [string, number] {
  const i = value.lastIndexOf(':');
  return [value.slice(0, i).replace(/^\[|\]$/g, ''), Number(value.slice(i + 1))];
}
