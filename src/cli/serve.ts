// `nodeheal serve`: the webhook intake, health, readiness and metrics over HTTP.
import type { Server } from 'node:http';
import { loadConfig, type Config } from '../config/index.ts';
import { redisHealStore } from '../store/index.ts';
import { buildApp, SecretSource, type WebhookCredentials } from '../http/index.ts';
import { refuseRedisCluster } from './refuse-redis-cluster.ts';
import { durabilityWarning, readRedisDurability, redisIntakeStore } from '../store/index.ts';
import { buildNodeIndex } from '../kube/index.ts';
import { probeApiserver, type ApiserverProbe } from '../kube/index.ts';
import { loadKubeConfig, watchNodes, type NodeCache } from '../kube/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { createMetrics } from '../metrics/index.ts';
import { dueBacklog } from './queue-backlog.ts';
import { bullmqHealScheduler, producerConnection } from '../queue/index.ts';
import { loadRulesOrThrow } from './load-rules.ts';

export interface ServeOptions {
  insecureNoAuth: boolean;
}

/** Webhook credentials from the environment; files are re-read when they change. */
function credentialSource(config: Config): (() => WebhookCredentials) | undefined {
  const token = config.NODEHEAL_WEBHOOK_TOKEN_FILE
    ? SecretSource.fromFile(config.NODEHEAL_WEBHOOK_TOKEN_FILE)
    : config.NODEHEAL_WEBHOOK_TOKEN
      ? SecretSource.fromValue(config.NODEHEAL_WEBHOOK_TOKEN)
      : undefined;
  const password = config.NODEHEAL_WEBHOOK_PASSWORD_FILE
    ? SecretSource.fromFile(config.NODEHEAL_WEBHOOK_PASSWORD_FILE)
    : config.NODEHEAL_WEBHOOK_PASSWORD
      ? SecretSource.fromValue(config.NODEHEAL_WEBHOOK_PASSWORD)
      : undefined;
  const username = config.NODEHEAL_WEBHOOK_USERNAME;
  if (!token && !password) return undefined;
  return () => ({
    ...(token ? { bearerToken: token.get() } : {}),
    ...(password && username ? { basic: { username, password: password.get() } } : {}),
  });
}

interface KubeWatch {
  nodeCache: NodeCache;
  apiserver: ApiserverProbe;
}

function startKube(config: Config, logger: Logger): KubeWatch | undefined {
  try {
    const kc = loadKubeConfig(config.KUBECONFIG);
    return { nodeCache: watchNodes(kc, logger), apiserver: probeApiserver(kc, { logger }) };
  } catch (error) {
    logger.warn({ err: error }, 'no Kubernetes configuration: instance labels will not resolve');
    return undefined;
  }
}

/** /readyz's Kubernetes check: the apiserver answers now, and the node cache is synced. */
function kubeReadiness(kube: KubeWatch | undefined): true | string {
  if (!kube) return 'no Kubernetes configuration';
  const apiserver = kube.apiserver.state();
  if (!apiserver.ok) return apiserver.detail;
  return kube.nodeCache.synced() ? true : 'node cache not synced';
}

/** Starts the intake; resolves once it listens, with a function that stops it gracefully. */
export async function serve(options: ServeOptions): Promise<() => Promise<void>> {
  const logger = createLogger();
  const config = loadConfig();
  const credentials = credentialSource(config);
  if (!credentials && !options.insecureNoAuth) {
    throw new Error(
      'no webhook authentication configured: set NODEHEAL_WEBHOOK_TOKEN(_FILE) or ' +
        'NODEHEAL_WEBHOOK_USERNAME with NODEHEAL_WEBHOOK_PASSWORD(_FILE), ' +
        'or pass --insecure-no-auth to accept unauthenticated webhooks',
    );
  }
  if (!credentials) logger.warn('webhook authentication is OFF (--insecure-no-auth)');
  const catalog = await loadRulesOrThrow(config.NODEHEAL_RULES);

  const redis = producerConnection(config.redis, config.NODEHEAL_REDIS_TIMEOUT_MS);
  redis.on('error', (error: Error) =>
    logger.debug({ err: error.message }, 'redis connection error'),
  );
  refuseRedisCluster(redis, logger);
  redis.connect().catch((error: unknown) => {
    logger.warn({ err: error }, 'Redis not reachable yet; webhooks answer 503 until it is');
  });
  // A 200 promises the alert is kept: say so at once if this Redis may forget it.
  redis.once('ready', () => {
    void readRedisDurability(redis).then((durability) => {
      const warning = durability && durabilityWarning(durability);
      if (warning) logger.warn({ redis: durability }, warning);
    });
  });
  const scheduler = bullmqHealScheduler(redis);
  const store = redisIntakeStore(redis, { cacheEntries: config.NODEHEAL_HISTORY_CACHE_ENTRIES });
  const kube = startKube(config, logger);
  const nodeCache = kube?.nodeCache;
  const metrics = createMetrics(config.NODEHEAL_PUBLIC_URL);
  const backlog = dueBacklog(redis);

  const app = buildApp({
    store,
    scheduler,
    catalog: () => catalog,
    nodeIndex: nodeCache ? () => nodeCache.index() : () => buildNodeIndex([]),
    cluster: config.NODEHEAL_CLUSTER
      ? { name: config.NODEHEAL_CLUSTER, label: config.NODEHEAL_CLUSTER_LABEL }
      : undefined,
    metrics,
    logger,
    now: () => new Date(),
    kubeReady: () => kubeReadiness(kube),
    dueBacklogSeconds: () => backlog.seconds(),
    webhook: { credentials: () => credentials?.(), bodyLimit: config.NODEHEAL_BODY_LIMIT },
    status: {
      store: redisHealStore(redis),
      adminToken: () => config.NODEHEAL_ADMIN_TOKEN,
      publicUrl: config.NODEHEAL_PUBLIC_URL,
      now: () => new Date(),
      logger,
    },
  });

  const server: Server = await new Promise((resolveServer, reject) => {
    const s = app.listen(config.listenPort, config.listenHost, () => resolveServer(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listenPort;
  logger.info(
    { listen: `${config.listenHost}:${port}`, faults: catalog.faults.length },
    'nodeheal serve listening',
  );

  return async () => {
    logger.info('serve stopping: no new requests, finishing those in flight');
    await new Promise((r) => server.close(r));
    kube?.apiserver.stop();
    await Promise.allSettled([nodeCache?.stop(), scheduler.close(), backlog.close()]);
    await redis.quit().catch(() => undefined);
  };
}
