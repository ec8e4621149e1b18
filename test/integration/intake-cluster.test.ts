// Many clusters, one Alertmanager (issue 10 item 6): a central Alertmanager sends nodeheal the
// alerts of several clusters; with NODEHEAL_CLUSTER it acts only on its own cluster's alerts and
// answers the rest as ignored, with the reason; the dedupe keys carry the cluster, so two
// nodeheals of two clusters can share one Redis even for nodes of the same name.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNodePool } from '../stack/helpers/pool.ts';
import { uniqueName } from '../stack/helpers/kube.ts';
import { adminClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { emptyStack, startAlertmanagers, startRedis, type Stack } from '../stack/stack.ts';
import { postAlerts } from './support/alertmanager-client.ts';
import {
  shortDebounceCatalog,
  startNodeheal,
  type NodehealProcess,
} from './support/nodeheal-process.ts';
import { inspectQueue, type QueueInspector } from './support/queue-inspector.ts';

const stack = inject('stack');
const token = 'cluster-test-token';
let privateStack: Stack;
let east: NodehealProcess;
let west: NodehealProcess;
let queue: QueueInspector;
let alertmanager: string;
let node: string;

beforeAll(async () => {
  privateStack = emptyStack();
  await startRedis(privateStack, 'redis-clusters');
  const redisUrl = privateStack.info.redisUrl!;
  const env = (cluster: string) => ({
    NODEHEAL_REDIS_URL: redisUrl,
    KUBECONFIG: stack.kubeconfig!,
    NODEHEAL_WEBHOOK_TOKEN: token,
    NODEHEAL_CLUSTER: cluster,
  });
  east = await startNodeheal(env('east'), shortDebounceCatalog('30s'));
  west = await startNodeheal(env('west'), shortDebounceCatalog('30s'));
  // The central Alertmanager routes every alert to east's nodeheal (as a receiver per cluster
  // would, without a per-cluster route): east must sort them out itself.
  const set = await startAlertmanagers(privateStack, {
    flavor: 'debian',
    count: 1,
    name: 'am-central',
    webhook: { url: `${east.url}/webhook/alertmanager`, bearerToken: token },
  });
  alertmanager = set.urls[0]!;
  queue = inspectQueue(redisUrl);
  node = (await createNodePool(adminClients(stack), { name: uniqueName('clu'), size: 1 }))[0]!;
});

afterAll(async () => {
  await queue?.close();
  await east?.stop();
  await west?.stop();
  await privateStack?.stop();
});

const kernelDeadlock = (cluster: string | undefined) => ({
  labels: {
    alertname: 'NodeKernelDeadlock',
    node,
    condition: 'KernelDeadlock',
    ...(cluster ? { cluster } : {}),
  },
  startsAt: new Date(Date.now() - 1000).toISOString(),
});

describe('NODEHEAL_CLUSTER', () => {
  it("acts only on its own cluster's alerts, answers the others as ignored, and keys heals by cluster", async () => {
    await postAlerts(alertmanager, [
      kernelDeadlock('east'),
      kernelDeadlock('west'),
      kernelDeadlock(undefined),
    ]);
    const eastKey = `heal:east/${node}:kernel-deadlock`;
    const [job] = await eventually('the east heal queued', async () => {
      const jobs = await queue.jobsFor(eastKey);
      return jobs.length > 0 ? jobs : undefined;
    });
    expect(job!.data.node).toBe(node);
    await eventually('the other two ignored, with their reasons', async () => {
      const other = await east.metric('nodeheal_alerts_ignored_total', { reason: 'other_cluster' });
      const none = await east.metric('nodeheal_alerts_ignored_total', { reason: 'no_cluster' });
      return other === 1 && none === 1;
    });
    expect(await queue.jobsFor(`heal:west/${node}:kernel-deadlock`)).toEqual([]);
    expect(await queue.jobsFor(`heal:${node}:kernel-deadlock`)).toEqual([]);
    // Logged before the metrics count it, but the line can still be in serve's stdout pipe.
    await eventually(
      "the other cluster's alert logged",
      () => /this nodeheal serves cluster \\"east\\"/.test(east.output()),
      10_000,
    );
  });

  it('two clusters with a node of the same name, one Redis: two heals, one per cluster', async () => {
    const body = {
      version: '4',
      groupKey: '{}:{alertname="NodeKernelDeadlock"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'nodeheal',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.test',
      alerts: [
        {
          status: 'firing',
          ...kernelDeadlock('west'),
          annotations: {},
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.test',
          fingerprint: 'west-kd',
        },
      ],
    };
    const res = await fetch(`${west.url}/webhook/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(await queue.jobsFor(`heal:west/${node}:kernel-deadlock`)).toHaveLength(1);
    expect(await queue.jobsFor(`heal:east/${node}:kernel-deadlock`)).toHaveLength(1);
  });
});
