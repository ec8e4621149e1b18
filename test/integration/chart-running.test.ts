// nodeheal the way operators run it: `helm install` of charts/nodeheal into the stack's apiserver,
// then serve and worker run from the image (localhost/nodeheal:dev) by the pod runner, exactly as
// Helm's Deployments describe them (command, args, env, Secret/ConfigMap/emptyDir volumes,
// securityContext, and the in-cluster identity of the chart's ServiceAccount). A KWOK node's
// kubelet stops, and the real chain heals it: kube-controller-manager → kube-state-metrics →
// Prometheus evaluating the chart's PrometheusRule → Alertmanager with the receiver the chart's
// NOTES print → the containerised serve → the containerised worker → node replaced.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readAuditLog } from '../stack/audit.ts';
import { stopHeartbeat } from '../stack/helpers/faults.ts';
import { prometheusOperatorCrds, runHelm, CHART_DIR, HelmError } from '../stack/helpers/helm.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool, poolLabel, readyStatus } from '../stack/helpers/pool.ts';
import { ensureImage, IMAGE } from '../stack/podman.ts';
import {
  removeRunnerContainers,
  runDeployments,
  waitReady,
  type RunningPod,
} from '../stack/pods/pod-runner.ts';
import { freePort } from '../stack/ports.ts';
import { emptyStack, startRedis, type Stack } from '../stack/stack.ts';
import { applyCrds } from '../stack/helpers/kubectl.ts';
import { shortDebounceCatalog } from './support/nodeheal-process.ts';
import { startPrivateMonitoring, type PrivateMonitoring } from './support/private-monitoring.ts';

const stack = inject('stack');
const namespace = 'nodeheal';
const release = 'nodeheal';
const token = 'chart-test-webhook-token';
let kube: KubeClients;
let redisStack: Stack;
let pods: RunningPod[] = [];
let monitoring: PrivateMonitoring | undefined;
let servePort: number;
let pool: string;
let installedAt = 0;
const runId = uniqueName('chart');

/** The Alertmanager snippet between the `---` lines of the chart's NOTES. */
function receiverSnippet(notes: string): { route: { routes: unknown[] }; receivers: unknown[] } {
  const parts = notes.split(/^---$/m);
  if (parts.length < 3) throw new Error(`no Alertmanager snippet in the chart's NOTES:\n${notes}`);
  return parse(parts[1]!) as { route: { routes: unknown[] }; receivers: unknown[] };
}

beforeAll(async () => {
  kube = adminClients(stack);
  await ensureImage();
  removeRunnerContainers(); // a crashed earlier run's leftovers
  const crds = prometheusOperatorCrds();
  applyCrds(stack, [crds.prometheusRule, crds.serviceMonitor]);

  redisStack = emptyStack();
  const redis = await startRedis(redisStack);
  void redis;
  servePort = await freePort();
  const workerPort = await freePort();
  pool = uniqueName('chart-pool');
  const values = {
    image: { repository: IMAGE.split(':')[0], tag: IMAGE.split(':')[1], pullPolicy: 'Never' },
    redis: { url: redisStack.info.redisUrl },
    secrets: { webhookToken: token },
    config: { remedies: shortDebounceCatalog('5s'), logLevel: 'debug' },
    // No node of the cluster carries this label: the Deployments' pods stay Pending in the
    // cluster, and the pod runner plays their kubelet.
    serve: { replicas: 1, port: servePort, nodeSelector: { 'nodeheal.test/runs-in': 'podman' } },
    worker: {
      replicas: 1,
      port: workerPort,
      nodeSelector: { 'nodeheal.test/runs-in': 'podman' },
      poolLabels: [poolLabel],
      providers: [{ selector: { [poolLabel]: pool }, provider: 'kwok' }],
      drain: { skipWaitForDeleteAfterMs: 5000 },
    },
    agent: { enabled: false },
    kwokProvider: { enabled: true },
    prometheusRule: { enabled: true },
  };
  const dir = mkdtempSync(join(tmpdir(), 'nodeheal-chart-'));
  const valuesFile = join(dir, 'values.yaml');
  writeFileSync(valuesFile, stringify(values));
  const args = ['install', release, CHART_DIR, '--namespace', namespace, '--create-namespace'];
  args.push('-f', valuesFile);
  const started = Date.now();
  const installed = runHelm(args, { kubeconfig: stack.kubeconfig });
  if (installed.status !== 0) throw new HelmError(args, installed);
  installedAt = Date.now();
  console.log(`helm install: ${installedAt - started} ms`);

  pods = await runDeployments({
    kube,
    stack,
    namespace,
    selector: `app.kubernetes.io/instance=${release}`,
    runId,
  });
  await waitReady(pods, 60_000);
  console.log(`pods ready ${Date.now() - installedAt} ms after helm install`);

  // Prometheus evaluates the rules of the PrometheusRule Helm created; Alertmanager routes with
  // the receiver the chart's NOTES print. Only what cannot hold outside a cluster is changed:
  // the Service's DNS name (no cluster DNS here) and the token file's path.
  const rule = JSON.parse(
    JSON.stringify(
      await kube.kc
        .makeApiClient((await import('@kubernetes/client-node')).CustomObjectsApi)
        .getNamespacedCustomObject({
          group: 'monitoring.coreos.com',
          version: 'v1',
          namespace,
          plural: 'prometheusrules',
          name: release,
        }),
    ),
  ) as { spec: { groups: unknown[] } };
  const notes = runHelm(['get', 'notes', release, '--namespace', namespace], {
    kubeconfig: stack.kubeconfig,
  }).stdout;
  const snippet = receiverSnippet(notes);
  const secretName = /Secret (\S+), key `token`/.exec(notes)?.[1];
  if (!secretName) throw new Error(`the NOTES do not name the webhook Secret:\n${notes}`);
  const secret = await kube.core.readNamespacedSecret({ name: secretName, namespace });
  const tokenFile = join(dir, 'nodeheal-token');
  writeFileSync(tokenFile, Buffer.from(secret.data!.token!, 'base64'));
  const receivers = JSON.parse(
    JSON.stringify(snippet.receivers)
      .replace(`http://${release}.${namespace}.svc:8080`, `http://127.0.0.1:${servePort}`)
      .replace(/"credentials_file":"[^"]+"/, `"credentials_file":${JSON.stringify(tokenFile)}`),
  ) as unknown[];
  monitoring = await startPrivateMonitoring({
    ksmUrl: stack.ksmUrl!,
    ruleGroups: rule.spec.groups,
    alertmanagerConfig: {
      route: { receiver: 'default', routes: snippet.route.routes },
      receivers: [{ name: 'default' }, ...receivers],
    },
  });
});

afterAll(async () => {
  for (const pod of pods) {
    pod.stop();
    console.log(
      `--- ${pod.name} (last lines) ---\n${pod.logs().split('\n').slice(-15).join('\n')}`,
    );
  }
  removeRunnerContainers(runId);
  await monitoring?.stop();
  if (kube) {
    runHelm(['uninstall', release, '--namespace', namespace, '--wait'], {
      kubeconfig: stack.kubeconfig,
    });
    if (pool) await deleteNodePool(kube, pool);
  }
  await redisStack?.stop();
});

describe('the chart, installed by Helm and run from the image', () => {
  it('runs serve and worker as the chart says: non-root, read-only root, its ServiceAccount', () => {
    expect(pods.map((p) => p.workload).sort()).toEqual([`${release}-serve`, `${release}-worker`]);
    // The processes in the containers reached the apiserver with the chart's ServiceAccount's
    // token (the in-cluster configuration), and only with it.
    const asChartSa = readAuditLog(stack.auditLog!).filter(
      (r) => r.user === `system:serviceaccount:${namespace}:${release}`,
    );
    expect(asChartSa.length).toBeGreaterThan(0);
    expect(asChartSa.filter((r) => r.decision !== 'allow')).toEqual([]);
  });

  it('heals a node whose kubelet stopped, through Prometheus, Alertmanager and its containers', async () => {
    const nodes = await createNodePool(kube, { name: pool, size: 4 });
    const victim = nodes[1]!;
    const faultAt = Date.now();
    await stopHeartbeat(kube, victim);
    const serveUrl = `http://127.0.0.1:${servePort}`;
    const heal = await eventually(
      `a finished heal of ${victim} on the containerised serve`,
      async () => {
        const view = (await (await fetch(`${serveUrl}/nodes/${victim}`)).json()) as {
          heals: { id: string; status: string }[];
        };
        const latest = view.heals[0];
        return latest && latest.status !== 'running' ? latest : undefined;
      },
      240_000,
      1000,
    );
    console.log(
      `heal ${heal.status} ${Math.round((Date.now() - faultAt) / 1000)} s after the kubelet stopped`,
    );
    expect(heal.status).toBe('healed');
    const left = await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` });
    const names = left.items.map((n) => n.metadata!.name!);
    expect(names).not.toContain(victim);
    expect(left.items.filter((n) => readyStatus(n) === 'True')).toHaveLength(4);
  });
});
