// Real Alertmanagers (Debian's 0.25 and the current release built from Go) route to a running
// `nodeheal serve`: debounce, cancellation, HA duplicates and authentication end to end.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import {
  configureAlertmanager,
  emptyStack,
  startAlertmanagers,
  type AlertmanagerSet,
  type Stack,
} from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import {
  alertmanagerNotifications,
  postAlerts,
  type PostedAlert,
} from './support/alertmanager-client.ts';
import {
  shortDebounceCatalog,
  startNodeheal,
  type NodehealProcess,
} from './support/nodeheal-process.ts';
import { inspectQueue, type QueueInspector } from './support/queue-inspector.ts';

const stack = inject('stack');
const token = 'e2e-bearer-token';
const debounceMs = 6000;
const fault = 'kernel-deadlock';

function kernelDeadlock(node: string, startsAt: Date, endsAt?: Date): PostedAlert {
  return {
    labels: { alertname: 'NodeKernelDeadlock', node, severity: 'critical' },
    annotations: { summary: `kernel deadlock on ${node}` },
    startsAt: startsAt.toISOString(),
    ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
  };
}

describe.each([['debian' as const], ['upstream' as const]])(
  'Alertmanager (%s) → nodeheal serve',
  (flavor) => {
    let privateStack: Stack;
    let nodeheal: NodehealProcess;
    let pair: AlertmanagerSet;
    let queue: QueueInspector;
    let webhookUrl: string;

    beforeAll(async () => {
      privateStack = emptyStack();
      nodeheal = await startNodeheal(
        {
          NODEHEAL_REDIS_URL: stack.redisUrl!,
          KUBECONFIG: stack.kubeconfig!,
          NODEHEAL_WEBHOOK_TOKEN: token,
        },
        shortDebounceCatalog(`${debounceMs / 1000}s`),
      );
      webhookUrl = `${nodeheal.url}/webhook/alertmanager`;
      pair = await startAlertmanagers(privateStack, {
        flavor,
        count: 2,
        name: `am-${flavor}`,
        webhook: { url: webhookUrl, bearerToken: token },
      });
      queue = inspectQueue(stack.redisUrl!);
    });

    afterAll(async () => {
      await queue?.close();
      await nodeheal?.stop();
      await privateStack?.stop();
    });

    it('an alert that resolves before its debounce leaves no job', async () => {
      const node = uniqueName('gone');
      const key = `heal:${node}:${fault}`;
      const startsAt = new Date();
      for (const am of pair.urls) await postAlerts(am, [kernelDeadlock(node, startsAt)]);
      await eventually(
        'the pending job',
        async () => (await queue.jobsFor(key)).length === 1,
        20_000,
      );

      const resolvedAt = new Date();
      for (const am of pair.urls)
        await postAlerts(am, [kernelDeadlock(node, startsAt, resolvedAt)]);
      await eventually(
        'the job to be cancelled',
        async () => (await queue.jobsFor(key)).length === 0,
        20_000,
      );

      // Past the original due time, nothing came back.
      await sleep(Math.max(0, startsAt.getTime() + debounceMs + 1500 - Date.now()));
      expect(await queue.jobsFor(key)).toEqual([]);
    });

    it('an alert that persists yields exactly one job, due at startsAt + debounce, from the HA pair', async () => {
      const node = uniqueName('stay');
      const key = `heal:${node}:${fault}`;
      // Webhook deliveries nodeheal accepted (this nodeheal is this describe's own).
      const deliveries = () => nodeheal.metric('nodeheal_webhook_requests_total', { code: '200' });
      const before = await deliveries();
      const startsAt = new Date(Date.now() - 1000);
      // Prometheus sends every alert to every Alertmanager of the pair, and re-sends it.
      for (let i = 0; i < 3; i++) {
        for (const am of pair.urls) await postAlerts(am, [kernelDeadlock(node, startsAt)]);
        await sleep(1000);
      }
      const [job] = await eventually(
        'one job',
        async () => {
          const jobs = await queue.jobsFor(key);
          return jobs.length === 1 ? jobs : false;
        },
        20_000,
      );
      const expectedDue = startsAt.getTime() + debounceMs;
      expect(job!.data.dueAt).toBe(new Date(expectedDue).toISOString());
      expect(job!.data.startsAt).toBe(startsAt.toISOString());
      expect(Math.abs(job!.dueAt - expectedDue)).toBeLessThan(1000);
      expect(job!.data.node).toBe(node);
      // The gossiping pair sends one notification for all those posts. A second Prometheus of an
      // HA pair sends the same fault with its own replica label: the group changes, and the pair
      // notifies again with both alerts (a regrouping).
      const twin = kernelDeadlock(node, startsAt);
      twin.labels.prometheus_replica = 'prometheus-1';
      for (const am of pair.urls) await postAlerts(am, [twin]);
      // Several deliveries reached nodeheal (HA pair, retries, regroupings): still one job.
      await eventually(
        'a second delivery for the node',
        async () => (await deliveries()) - before >= 2,
        20_000,
      );
      await sleep(3000);
      expect(await queue.jobsFor(key)).toHaveLength(1);
    });

    it('two Alertmanagers that do not gossip (a partitioned pair) both notify, and still one job results', async () => {
      const lonely = await Promise.all(
        [0, 1].map((i) =>
          startAlertmanagers(privateStack, {
            flavor,
            count: 1,
            name: `am-${flavor}-split-${i}`,
            webhook: { url: webhookUrl, bearerToken: token },
          }),
        ),
      );
      const node = uniqueName('split');
      const key = `heal:${node}:${fault}`;
      const before = await nodeheal.metric('nodeheal_alerts_received_total', { status: 'firing' });
      const startsAt = new Date();
      await Promise.all(
        lonely.map((am) => postAlerts(am.urls[0]!, [kernelDeadlock(node, startsAt)])),
      );
      await eventually(
        'both copies delivered',
        async () => {
          const received = await nodeheal.metric('nodeheal_alerts_received_total', {
            status: 'firing',
          });
          return received - before >= 2;
        },
        20_000,
      );
      const jobs = await queue.jobsFor(key);
      expect(jobs).toHaveLength(1);
      for (const am of lonely) for (const p of am.processes) await p.stop();
    });

    it('a bearer-token receiver works; a wrong token is refused and nothing is queued', async () => {
      await configureAlertmanager(pair.config, pair.urls, {
        url: webhookUrl,
        bearerToken: 'wrong-token',
      });
      const node = uniqueName('auth');
      const key = `heal:${node}:${fault}`;
      const refusedBefore = await nodeheal.metric('nodeheal_webhook_requests_total', {
        code: '401',
      });
      const failedBefore = (await alertmanagerNotifications(pair.urls[0]!)).failed;
      const startsAt = new Date();
      for (const am of pair.urls) await postAlerts(am, [kernelDeadlock(node, startsAt)]);
      await eventually(
        'nodeheal to refuse the wrong token',
        async () =>
          (await nodeheal.metric('nodeheal_webhook_requests_total', { code: '401' })) >
          refusedBefore,
        20_000,
      );
      await eventually(
        'Alertmanager to count the failure',
        async () =>
          (await alertmanagerNotifications(pair.urls[0]!)).failed > failedBefore ||
          (await alertmanagerNotifications(pair.urls[1]!)).failed > 0,
        20_000,
      );
      expect(await queue.jobsFor(key)).toEqual([]);

      // The right token again: Alertmanager's next attempt goes through.
      await configureAlertmanager(pair.config, pair.urls, { url: webhookUrl, bearerToken: token });
      await eventually(
        'the job once the token is right',
        async () => (await queue.jobsFor(key)).length === 1,
        30_000,
      );
    });
  },
);
