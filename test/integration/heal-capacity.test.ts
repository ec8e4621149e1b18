// A replacement is done when capacity is back, not when the old Node is gone (issue 10 item 1):
// the heal is healed when the replacement (or the pool at its earlier Ready count) is Ready within
// the node startup timeout, else abandoned with that reason on its record, page and Events.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool, poolLabel, readyStatus } from '../stack/helpers/pool.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;
const plainPool = uniqueName('cap-plain');
const kwokPool = uniqueName('cap-kwok');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };

beforeAll(async () => {
  kube = adminClients(stack);
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '60s' }] },
    workerEnv: {
      // plain only deletes the Node: in this simulated pool nothing brings a machine back.
      NODEHEAL_PROVIDERS: JSON.stringify([
        { selector: { [poolLabel]: plainPool }, provider: 'plain' },
        { selector: { [poolLabel]: kwokPool }, provider: 'kwok' },
      ]),
      NODEHEAL_NODE_STARTUP_TIMEOUT_MS: '15000',
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

describe('capacity, not deletion, ends a replacement', () => {
  it('no replacement Ready within the node startup timeout: abandoned, saying so everywhere', async () => {
    const [victim] = await createNodePool(kube, { name: plainPool, size: 3 });
    await setNodeCondition(kube, victim!, 'KernelDeadlock', 'True');
    await harness.fire(victim!, 'NodeKernelDeadlock', deadlock);
    const heal = await harness.finishedHeal(victim!, 120_000);
    expect(heal.status).toBe('abandoned');
    expect(heal.nodeGone).toBe(true);
    expect(heal.poolReadyBefore).toBe(3);
    expect(heal.outcomeReason).toMatch(/capacity is not back within 15s/);
    const events = await nodehealEvents(kube, victim!);
    const abandoned = events.filter((e) => e.reason === 'HealAbandoned');
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]!.message).toMatch(/capacity is not back/);
    const page = await (
      await fetch(`${harness.serveUrl}/heals/${heal.id}`, { headers: { accept: 'text/html' } })
    ).text();
    expect(page).toMatch(/capacity is not back within 15s/);
  });

  it('the replacement Ready: healed, the replacement named on the record, page and Events', async () => {
    const [victim] = await createNodePool(kube, { name: kwokPool, size: 3 });
    await setNodeCondition(kube, victim!, 'KernelDeadlock', 'True');
    await harness.fire(victim!, 'NodeKernelDeadlock', deadlock);
    const heal = await harness.finishedHeal(victim!, 120_000);
    expect(heal.status, heal.outcomeReason ?? '').toBe('healed');
    expect(heal.replacement).toMatch(new RegExp(`^${kwokPool}-r-`));
    expect(heal.capacityBackAt).not.toBeNull();
    expect(readyStatus(await kube.core.readNode({ name: heal.replacement! }))).toBe('True');
    const events = await nodehealEvents(kube, victim!);
    expect(events.find((e) => e.reason === 'HealSucceeded')?.message).toMatch(
      new RegExp(`capacity back: replacement ${heal.replacement} is Ready`),
    );
    const page = await (
      await fetch(`${harness.serveUrl}/heals/${heal.id}`, { headers: { accept: 'text/html' } })
    ).text();
    expect(page).toContain(heal.replacement!);
  });
});
