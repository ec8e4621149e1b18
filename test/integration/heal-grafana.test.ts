// A Grafana Alerting alert about a node heals it end to end on the stack (webhook contact point
// → serve → queue → worker → KWOK replacement), and the same fault delivered by Alertmanager and
// Grafana together is one heal with one HealStarted Event.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool } from '../stack/helpers/pool.ts';
import { grafanaAlert, grafanaPayload } from './support/grafana-payload.ts';
import { HARNESS_WEBHOOK_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const pool = uniqueName('graf');
let kube: KubeClients;
let harness: Harness | undefined;
let nodes: string[] = [];
const deadlock = { condition: 'KernelDeadlock', status: 'true' };

beforeAll(async () => {
  kube = adminClients(stack);
  nodes = await createNodePool(kube, { name: pool, size: 4 });
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '120s' }] },
  });
});

afterAll(async () => {
  await harness?.stop();
  if (kube) await deleteNodePool(kube, pool);
});

async function postGrafana(node: string, startsAt: Date): Promise<void> {
  const body = grafanaPayload([
    grafanaAlert({ node, alertname: 'NodeKernelDeadlock', startsAt, labels: deadlock }),
  ]);
  const res = await fetch(`${harness!.serveUrl}/webhook/grafana`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${HARNESS_WEBHOOK_TOKEN}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

describe('Grafana Alerting as an alert source', () => {
  it('a Grafana alert about a node heals it end to end', async () => {
    const victim = nodes[0]!;
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await postGrafana(victim, new Date(Date.now() - 5000));
    const heal = await harness!.finishedHeal(victim, 150_000);
    expect(heal).toMatchObject({ status: 'healed', fault: 'kernel-deadlock' });
    await eventually(
      `${victim} replaced`,
      async () => {
        const list = await kube.core.listNode({ labelSelector: `nodeheal.test/pool=${pool}` });
        return !list.items.some((n) => n.metadata?.name === victim);
      },
      30_000,
    );
  });

  it('the same fault from Alertmanager and Grafana together is one heal', async () => {
    const victim = nodes[1]!;
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    const startsAt = new Date(Date.now() - 5000);
    await Promise.all([
      harness!.fire(victim, 'NodeKernelDeadlock', deadlock, startsAt),
      postGrafana(victim, new Date(startsAt.getTime() + 1000)),
    ]);
    const heal = await harness!.finishedHeal(victim, 150_000);
    expect(heal.status).toBe('healed');
    const heals = await harness!.healsFor(victim);
    expect(heals.map((h) => h.id)).toEqual([heal.id]);
    const started = (await nodehealEvents(kube, victim)).filter((e) => e.reason === 'HealStarted');
    expect(started).toHaveLength(1);
  });
});
