// Maintenance windows (issue 10 item 5): outside its pool's window, a disruptive step of a node
// that is still Ready waits, shown as the gate `window` on the status API; a NotReady node in the
// same pool is healed at once; a pool whose window is open is healed at once.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setNodeCondition, stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel, waitNodeReady } from '../stack/helpers/pool.ts';
import { sleep } from '../stack/wait.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;
const closedPool = uniqueName('win-closed');
const openPool = uniqueName('win-open');
const hhmm = (d: Date) => d.toISOString().slice(11, 16);
const deadlock = { condition: 'KernelDeadlock', status: 'true' };

beforeAll(async () => {
  kube = adminClients(stack);
  const now = Date.now();
  // A window that opens in two hours (closed now), and one open since an hour ago, in UTC.
  const closed = {
    start: hhmm(new Date(now + 2 * 3600_000)),
    end: hhmm(new Date(now + 3 * 3600_000)),
  };
  const open = { start: hhmm(new Date(now - 3600_000)), end: hhmm(new Date(now + 3600_000)) };
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [{ action: 'replace', timeout: '120s' }],
      'node-not-ready': [{ action: 'replace', timeout: '120s' }],
    },
    workerEnv: {
      NODEHEAL_MAINTENANCE_WINDOWS: JSON.stringify([
        { selector: { [poolLabel]: closedPool }, ...closed, timeZone: 'UTC' },
        { selector: { [poolLabel]: openPool }, ...open, timeZone: 'UTC' },
      ]),
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

describe('maintenance windows', () => {
  it('a Ready node outside its window waits on the gate `window`; a NotReady one is healed at once', async () => {
    const nodes = await createNodePool(kube, { name: closedPool, size: 4 });
    const [ready, notReady] = [nodes[0]!, nodes[1]!];
    await setNodeCondition(kube, ready, 'KernelDeadlock', 'True');
    await harness.fire(ready, 'NodeKernelDeadlock', deadlock);
    await eventually(
      'the heal held by the window',
      async () =>
        (await harness.workerMetric('nodeheal_safety_blocked_total', { gate: 'window' })) >= 1,
      30_000,
    );
    // The worker counts the refusal before it writes the note the status API shows: wait for it.
    const held = await eventually(
      'the note of the heal held by the window',
      async () => {
        const ids = await harness.redis.keys('nodeheal:blocked:*');
        const views = await Promise.all(
          ids.map(async (key) => {
            const res = await fetch(`${harness.serveUrl}/heals/${key.split(':').pop()}`);
            return (await res.json()) as {
              status: string;
              node?: string;
              blocked: { gate: string; detail: string } | null;
            };
          }),
        );
        return views.find((v) => v.blocked?.gate === 'window');
      },
      30_000,
    );
    expect(held.status).toBe('waiting');
    expect(held.blocked?.detail).toMatch(/maintenance window/);

    // The NotReady node of the same pool is already disrupted: no waiting for the window.
    await stopHeartbeat(kube, notReady);
    await waitNodeReady(kube, notReady, 'Unknown', 90_000);
    await harness.fire(notReady, 'NodeUnreachable', { condition: 'Ready', status: 'unknown' });
    const healed = await harness.finishedHeal(notReady, 150_000);
    expect(healed.status).toBe('healed');

    // Meanwhile the Ready node has not been touched.
    await sleep(2000);
    const node = await kube.core.readNode({ name: ready });
    expect(node.spec?.unschedulable).toBeFalsy();
    expect(await harness.healsFor(ready)).toHaveLength(0);
  });

  it('a Ready node inside its window is healed at once', async () => {
    const [node] = await createNodePool(kube, { name: openPool, size: 3 });
    await setNodeCondition(kube, node!, 'KernelDeadlock', 'True');
    await harness.fire(node!, 'NodeKernelDeadlock', deadlock);
    const heal = await harness.finishedHeal(node!, 120_000);
    expect(heal.status).toBe('healed');
  });
});
