// `nodeheal simulate [--source NAME] < payload.json`: what nodeheal would do with a webhook
// payload of any alert source (Alertmanager by default), without side effects. Triage starts
// from an empty history (as for a first delivery); with --kubeconfig the `instance` label is
// resolved against the cluster's Nodes (read-only).
import { envSchema } from '../config/index.ts';
import { normaliseAlerts } from '../intake/index.ts';
import { buildNodeIndex, type NodeIndex, type NodeLike } from '../kube/index.ts';
import { ALERT_SOURCES, sourceNamed } from '../sources/index.ts';
import { formatDuration, leftAlone, matchFault } from '../rules/index.ts';
import { triage } from '../triage/index.ts';
import { loadRulesOrThrow } from './load-rules.ts';

export interface SimulateOptions {
  rules: string;
  now?: string;
  json: boolean;
  kubeconfig?: string;
  /** The alert source whose payload is on stdin (default alertmanager). */
  source?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function nodeIndexFrom(kubeconfig: string | undefined): Promise<NodeIndex> {
  if (!kubeconfig) return buildNodeIndex([]);
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const { loadKubeConfig } = await import('../kube/index.ts');
  const core = loadKubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  return buildNodeIndex((await core.listNode()).items as NodeLike[]);
}

export async function simulate(options: SimulateOptions): Promise<number> {
  const text = await readStdin();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    process.stderr.write(`simulate: stdin is not JSON: ${(error as Error).message}\n`);
    return 1;
  }
  const source = sourceNamed(options.source ?? 'alertmanager');
  if (!source) {
    process.stderr.write(
      `simulate: unknown source ${JSON.stringify(options.source)}; one of ${ALERT_SOURCES.map((s) => s.name).join(', ')}\n`,
    );
    return 1;
  }
  const parsed = source.parse(body);
  if (!parsed.ok) {
    process.stderr.write(`simulate: invalid ${source.name} payload: ${parsed.error}\n`);
    return 1;
  }
  const catalog = await loadRulesOrThrow(options.rules);
  const now = options.now ? new Date(options.now) : new Date();
  if (Number.isNaN(now.getTime())) {
    process.stderr.write(`simulate: --now ${options.now} is not a timestamp\n`);
    return 1;
  }
  // The same cluster scope as `serve` (NODEHEAL_CLUSTER, NODEHEAL_CLUSTER_LABEL), when set.
  const env = envSchema
    .pick({ NODEHEAL_CLUSTER: true, NODEHEAL_CLUSTER_LABEL: true })
    .safeParse(process.env);
  if (!env.success) {
    process.stderr.write(
      `simulate: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`,
    );
    return 1;
  }
  const scope = env.data.NODEHEAL_CLUSTER
    ? { name: env.data.NODEHEAL_CLUSTER, label: env.data.NODEHEAL_CLUSTER_LABEL }
    : undefined;
  const { alerts, ignored } = normaliseAlerts(
    parsed.batch.alerts,
    await nodeIndexFrom(options.kubeconfig),
    scope,
  );
  interface Row {
    alertname: string;
    decision: string;
    reason: string;
    why: string;
    status?: string;
    node?: string;
    fault?: string;
    dueAt?: string;
    ladder?: string;
  }
  const rows: Row[] = [
    ...ignored.map((i) => ({
      alertname: i.alertname,
      decision: 'ignore',
      reason: i.reason,
      why: i.detail,
    })),
    ...alerts.flatMap((alert): Row[] => {
      const alone = leftAlone(catalog, alert);
      if (alone !== undefined) {
        return [
          {
            alertname: alert.alertname,
            decision: 'ignore',
            reason: 'left_alone',
            why: alone.reason,
          },
        ];
      }
      const fault = matchFault(catalog, alert);
      const d = triage(alert, fault, undefined, now);
      const ladder = fault.ladder
        .map((s) => `${s.action}(${formatDuration(s.timeoutMs)})`)
        .join(' → ');
      return [
        {
          alertname: alert.alertname,
          status: alert.status,
          node: alert.node,
          fault: fault.name,
          decision: d.kind,
          reason: d.reason,
          why: d.detail,
          ...(d.kind === 'debounce' ? { dueAt: d.dueAt.toISOString(), ladder } : {}),
        },
      ];
    }),
  ];
  if (options.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  } else {
    for (const r of rows) {
      process.stdout.write(`${r.alertname}: ${r.decision} (${r.reason}) — ${r.why}\n`);
      if (r.ladder) process.stdout.write(`    then: ${r.ladder}\n`);
    }
    process.stdout.write('(simulation: nothing was recorded, queued or changed)\n');
  }
  return 0;
}
