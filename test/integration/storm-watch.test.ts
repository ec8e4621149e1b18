// Storm mode is judged from the watched Nodes all the time (src/worker/storm-watch.ts), not only
// when a heal asks the gates: a partition blip that makes 4 of a 10-node pool unhealthy for a
// moment, with no alert at all, turns storm mode on; a heal of that pool that comes due after the
// blip is over waits out the storm's cooldown, then goes.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool } from '../stack/helpers/pool.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const pool = uniqueName('blip');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
const COOLDOWN_MS = 20_000;
let kube: KubeClients;
let harness: Harness | undefined;
let nodes: string[] = [];

beforeAll(async () => {
  kube = adminClients(stack);
  nodes = await createNodePool(kube, { name: pool, size: 10 });
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'kernel-deadlock': [{ action: 'cordon', timeout: '60s' }] },
    workerEnv: { NODEHEAL_SAFETY: JSON.stringify({ stormCooldownMs: COOLDOWN_MS }) },
  });
}, 180_000);

afterAll(async () => {
  await harness?.stop();
  await deleteNodePool(kube, pool);
});

async function cordoned(node: string): Promise<boolean> {
  return (await kube.core.readNode({ name: node })).spec?.unschedulable ?? false;
}

describe('storm mode from the watched Nodes', () => {
  it('a blip with no heal at the gates turns it on; a heal due after the blip waits out the cooldown', async () => {
    const blip = nodes.slice(0, 4);
    // 4 of 10 unhealthy (40 % > 20 %, more than 2 nodes), and not one alert sent.
    for (const n of blip) await setNodeCondition(kube, n, 'NetworkUnavailable', 'True');
    await eventually(
      'storm mode on, with no heal at the gates',
      async () => ((await harness!.workerMetric('nodeheal_storm_active')) === 1 ? true : undefined),
      30_000,
    );
    expect(harness!.workers[0]!.output()).toContain(
      `storm mode on in pool ${pool}: 4 of 10 nodes unhealthy`,
    );
    for (const n of blip) await setNodeCondition(kube, n, 'NetworkUnavailable', 'False');

    // The blip is over; a node of the pool has a fault of its own (1 of 10: no storm by itself).
    const victim = nodes[5]!;
    const blipOver = Date.now();
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    const held = await eventually(
      'the heal held by the storm',
      async () => {
        const keys = await harness!.redis.keys('nodeheal:blocked:*');
        for (const key of keys) {
          const note = JSON.parse((await harness!.redis.get(key)) ?? '{}') as { gate?: string };
          if (note.gate === 'storm') return note;
        }
        return undefined;
      },
      30_000,
    );
    expect(held.gate).toBe('storm');
    expect(await cordoned(victim)).toBe(false);

    // The cooldown runs from the blip's end: then the storm is off and the heal acts.
    await eventually(
      `${victim} cordoned by its heal`,
      async () => ((await cordoned(victim)) ? true : undefined),
      COOLDOWN_MS + 60_000,
    );
    expect(Date.now() - blipOver).toBeGreaterThanOrEqual(COOLDOWN_MS - 5_000);
    // The watch tells the storm's end at its next look (every 2 s), whoever ended it.
    await eventually(
      'the storm told over',
      async () =>
        harness!.workers[0]!.output().includes(`storm mode off in pool ${pool}`) &&
        (await harness!.workerMetric('nodeheal_storm_active')) === 0
          ? true
          : undefined,
      10_000,
    );
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'False');
    const heal = await harness!.finishedHeal(victim, 90_000);
    expect(heal.status).toBe('healed');
  }, 240_000);
});
