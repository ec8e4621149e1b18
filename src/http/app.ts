// The HTTP application (no listen here): it composes the routers of every part: a webhook per
// alert source, the status pages, the admin API, health, readiness and metrics.
import express, { type Express } from 'express';
import type { IntakeDeps } from '../intake/index.ts';
import { observeQueueDueBacklog, observeQueueJobs } from '../metrics/index.ts';
import { ALERT_SOURCES } from '../sources/index.ts';
import { statusRouter, type StatusDeps } from '../status/index.ts';
import { adminRouter } from './admin-router.ts';
import { webhookRouter, type WebhookOptions } from './webhook-route.ts';

export interface AppDeps extends IntakeDeps {
  webhook: WebhookOptions;
  /**
   * Kubernetes reachable and the node cache synced (for /readyz): true, or what is not (a string
   * naming it; `false` reads "node cache not synced"). Cheap: answered from cached state.
   */
  kubeReady: () => boolean | string;
  /** Heal records and the admin API (GET /heals, /nodes/:node, POST /admin/*); off when absent. */
  status?: StatusDeps;
  /** Seconds the oldest due heal job has waited for a worker (read at scrape time). */
  dueBacklogSeconds?: () => Promise<number>;
}

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // First: the webhook is the hot path, and express tries routes in order.
  app.use(webhookRouter(ALERT_SOURCES, deps, deps.webhook));

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });

  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await deps.store.ping();
      checks.redis = 'ok';
    } catch (error) {
      checks.redis = error instanceof Error ? error.message : 'unreachable';
    }
    const kube = deps.kubeReady();
    checks.kubernetes = kube === true ? 'ok' : kube === false ? 'node cache not synced' : kube;
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ ready, checks });
  });

  app.get('/metrics', async (_req, res) => {
    try {
      observeQueueJobs(deps.metrics, await deps.scheduler.counts());
      if (deps.dueBacklogSeconds)
        observeQueueDueBacklog(deps.metrics, await deps.dueBacklogSeconds());
    } catch {
      // Redis down: the queue gauge keeps its last value; the other metrics still matter.
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  if (deps.status) {
    app.use(statusRouter(deps.status));
    app.use(adminRouter(deps.status));
  }

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
