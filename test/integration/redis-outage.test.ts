// Redis goes away mid-stream: webhooks answer 503, Alertmanager retries, and once Redis is back
// (restarted from its AOF) every alert sent is accounted for, none lost and none doubled.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
import { postAlerts, type PostedAlert } from './support/alertmanager-client.ts';
import {
  shortDebounceCatalog,
  startNodeheal,
  type NodehealProcess,
} from './support/nodeheal-process.ts';
import { inspectQueue, type QueueInspector } from './support/queue-inspector.ts';

const stack = inject('stack');
const token = 'outage-token';
const fault = 'kernel-deadlock';

function alert(node: string, startsAt: Date, endsAt?: Date): PostedAlert {
  return {
    labels: { alertname: 'NodeKernelDeadlock', node, severity: 'critical' },
    startsAt: startsAt.toISOString(),
    ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
  };
}

describe('Redis outage', () => {
  let privateStack: Stack;
  let redis: ManagedProcess;
  let redisUrl: string;
  let nodeheal: NodehealProcess;
  let am: AlertmanagerSet;
  let queue: QueueInspector;

  beforeAll(async () => {
    privateStack = emptyStack();
    redis = await startRedis(privateStack, 'redis-outage');
    redisUrl = privateStack.info.redisUrl!;
    // Long debounce: every job stays pending for the whole test.
    nodeheal = await startNodeheal(
      {
        NODEHEAL_REDIS_URL: redisUrl,
        KUBECONFIG: stack.kubeconfig!,
        NODEHEAL_WEBHOOK_TOKEN: token,
      },
      shortDebounceCatalog('10m'),
    );
    am = await startAlertmanagers(privateStack, {
      flavor: 'debian',
      count: 1,
      name: 'am-outage',
      webhook: { url: `${nodeheal.url}/webhook/alertmanager`, bearerToken: token },
    });
    queue = inspectQueue(redisUrl);
  });

  afterAll(async () => {
    await queue?.close();
    await nodeheal?.stop();
    await privateStack?.stop();
  });

  it('answers 503 while Redis is down and loses nothing once it is back', async () => {
    const prefix = uniqueName('out');
    const nodes = Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);
    const startsAt = new Date();
    const firstWave = nodes.slice(0, 10);
    const secondWave = nodes.slice(10);

    await postAlerts(
      am.urls[0]!,
      firstWave.map((n) => alert(n, startsAt)),
    );
    await eventually(
      'first wave queued',
      async () => {
        const counts = await Promise.all(
          firstWave.map(async (n) => (await queue.jobsFor(`heal:${n}:${fault}`)).length),
        );
        return counts.every((c) => c === 1);
      },
      30_000,
    );

    // Redis goes down. New faults arrive, and one fault of the first wave resolves.
    await redis.stop();
    const unavailableBefore = await nodeheal.metric('nodeheal_webhook_requests_total', {
      code: '503',
    });
    await postAlerts(am.urls[0]!, [
      ...secondWave.map((n) => alert(n, startsAt)),
      alert(firstWave[0]!, startsAt, new Date()),
    ]);
    await eventually(
      'nodeheal to answer 503 while Redis is down',
      async () =>
        (await nodeheal.metric('nodeheal_webhook_requests_total', { code: '503' })) >
        unavailableBefore,
      30_000,
    );
    await sleep(3000); // Alertmanager keeps retrying meanwhile.

    redis = await restartRedis(privateStack, redis);
    await eventually(
      'every alert accounted for',
      async () => {
        for (const n of nodes) {
          const jobs = await queue.jobsFor(`heal:${n}:${fault}`);
          const expected = n === firstWave[0] ? 0 : 1;
          if (jobs.length !== expected) return false;
        }
        return true;
      },
      60_000,
    );

    // None doubled: exactly one job per firing (node, fault), the resolved one cancelled.
    for (const n of nodes) {
      expect(await queue.jobsFor(`heal:${n}:${fault}`)).toHaveLength(n === firstWave[0] ? 0 : 1);
    }
    // And the durable log has every alert that was sent, acknowledged or retried.
    const client = new Redis(redisUrl);
    try {
      const entries = await client.xrange('nodeheal:alerts', '-', '+');
      const seen = new Set(
        entries.map(([, fields]) => {
          const record = JSON.parse(fields[1] ?? '{}') as { node?: string; status?: string };
          return `${record.node}/${record.status}`;
        }),
      );
      for (const n of nodes) expect(seen.has(`${n}/firing`), `${n} firing recorded`).toBe(true);
      expect(seen.has(`${firstWave[0]}/resolved`)).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
