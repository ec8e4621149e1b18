// Before a heal's first action, the worker asks a real Alertmanager whether the fault is still
// there. A firing notification that reaches nodeheal after its debounce (the storm case: up to
// 72 s late) of an alert Alertmanager has since resolved does not act: the heal waits for the
// resolved notification, which ends it. An alert Alertmanager still holds is acted on at once,
// and one Alertmanager never held is acted on after the longest wait, with a warning.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool } from '../stack/helpers/pool.ts';
import { sleep } from '../stack/wait.ts';
import { postAlerts } from './support/alertmanager-client.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startPrivateMonitoring, type PrivateMonitoring } from './support/private-monitoring.ts';
import { inspectQueue, type QueueInspector } from './support/queue-inspector.ts';

const stack = inject('stack');
const pool = uniqueName('conf');
const ALERT = 'NodeFilesystemAlmostFull';
const FAULT = 'disk-almost-full';
const RECHECK_MS = 2000;
const MAX_WAIT_MS = 20_000;
let kube: KubeClients;
let harness: Harness | undefined;
let monitoring: PrivateMonitoring | undefined;
let queue: QueueInspector | undefined;
let nodes: string[] = [];

beforeAll(async () => {
  kube = adminClients(stack);
  nodes = await createNodePool(kube, { name: pool, size: 3 });
  monitoring = await startPrivateMonitoring({
    ksmUrl: stack.ksmUrl!,
    ruleGroups: [],
    onlyNodes: `${pool}-[0-9]+`,
    alertmanagerConfig: { route: { receiver: 'nobody' }, receivers: [{ name: 'nobody' }] },
  });
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    // Cordon first: an action that shows on the node at once.
    ladders: { [FAULT]: [{ action: 'cordon', timeout: '30s' }] },
    workerEnv: {
      NODEHEAL_ALERTMANAGER_URL: monitoring.alertmanagerUrl,
      NODEHEAL_CONFIRM_RECHECK_MS: String(RECHECK_MS),
      NODEHEAL_CONFIRM_MAX_WAIT_MS: String(MAX_WAIT_MS),
    },
  });
  queue = inspectQueue(harness.redisUrl);
}, 180_000);

afterAll(async () => {
  await queue?.close();
  await harness?.stop();
  await monitoring?.stop();
  await deleteNodePool(kube, pool);
});

/** Alertmanager's own fingerprint of the alert it holds unresolved with these labels. */
async function heldFingerprint(labels: Record<string, string>): Promise<string> {
  return await eventually(`Alertmanager holding ${JSON.stringify(labels)}`, async () => {
    const filter = new URLSearchParams([
      ['filter', `alertname="${labels.alertname}"`],
      ['filter', `node="${labels.node}"`],
    ]);
    const res = await fetch(`${monitoring!.alertmanagerUrl}/api/v2/alerts?${filter.toString()}`);
    const alerts = (await res.json()) as { fingerprint: string }[];
    return alerts.length === 1 ? alerts[0]!.fingerprint : undefined;
  });
}

async function cordoned(node: string): Promise<boolean> {
  return (await kube.core.readNode({ name: node })).spec?.unschedulable ?? false;
}

function workerLog(): string {
  return harness!.workers.map((w) => w.output()).join('\n');
}

describe('before a heal first acts, Alertmanager is asked whether its fault is still there', () => {
  it('a late firing notification of an alert Alertmanager has resolved does not act; its resolution ends the heal', async () => {
    const victim = nodes[0]!;
    const labels = { alertname: ALERT, node: victim, mountpoint: '/' };
    // The fault began a minute ago and lasted 50 s: Alertmanager held it, then saw it resolve.
    const startsAt = new Date(Date.now() - 60_000);
    await postAlerts(monitoring!.alertmanagerUrl, [
      {
        labels,
        startsAt: startsAt.toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    ]);
    const fingerprint = await heldFingerprint(labels);
    await postAlerts(monitoring!.alertmanagerUrl, [
      {
        labels,
        startsAt: startsAt.toISOString(),
        endsAt: new Date(Date.now() - 10_000).toISOString(),
      },
    ]);
    await eventually('Alertmanager seeing it resolved', async () => {
      const res = await fetch(`${monitoring!.alertmanagerUrl}/api/v2/alerts`);
      const alerts = (await res.json()) as { fingerprint: string }[];
      return alerts.every((a) => a.fingerprint !== fingerprint) ? true : undefined;
    });

    // Only now does its firing notification reach nodeheal: past its debounce, due at once.
    const before = await harness!.workerMetric('nodeheal_fault_confirmations_total', {
      result: 'resolved-in-alertmanager',
    });
    const rest = { mountpoint: labels.mountpoint };
    await harness!.fire(victim, ALERT, rest, startsAt, fingerprint);
    await eventually(
      'the worker finding the fault over in Alertmanager twice',
      async () =>
        (await harness!.workerMetric('nodeheal_fault_confirmations_total', {
          result: 'resolved-in-alertmanager',
        })) >=
        before + 2
          ? true
          : undefined,
      30_000,
    );
    expect(workerLog()).toContain(
      'Alertmanager holds none of its alerts unresolved: waiting for its resolved notification',
    );
    expect(await harness!.healsFor(victim)).toEqual([]);
    expect(await cordoned(victim)).toBe(false);
    const key = `heal:${victim}:${FAULT}`;
    // Still queued, asking again every recheck period.
    expect(await queue!.jobsFor(key)).toHaveLength(1);

    // The resolved notification comes: the job is gone, nothing acted.
    await harness!.resolve(victim, ALERT, rest, startsAt, fingerprint);
    await eventually('the heal job gone (or done without acting)', async () =>
      (await queue!.jobsFor(key)).every((j) => j.state === 'completed') ? true : undefined,
    );
    await sleep(2 * RECHECK_MS);
    expect(await harness!.healsFor(victim)).toEqual([]);
    expect(await cordoned(victim)).toBe(false);
  }, 120_000);

  it('an alert Alertmanager still holds unresolved is acted on at once', async () => {
    const victim = nodes[1]!;
    const labels = { alertname: ALERT, node: victim, mountpoint: '/' };
    const startsAt = new Date(Date.now() - 60_000);
    await postAlerts(monitoring!.alertmanagerUrl, [
      {
        labels,
        startsAt: startsAt.toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    ]);
    const fingerprint = await heldFingerprint(labels);
    const before = await harness!.workerMetric('nodeheal_fault_confirmations_total', {
      result: 'firing',
    });
    const rest = { mountpoint: labels.mountpoint };
    await harness!.fire(victim, ALERT, rest, startsAt, fingerprint);
    await eventually(`${victim} cordoned by its heal`, async () =>
      (await cordoned(victim)) ? true : undefined,
    );
    const [heal] = await harness!.healsFor(victim);
    expect(heal?.fault).toBe(FAULT);
    await harness!.workerMetricIs(
      'nodeheal_fault_confirmations_total',
      { result: 'firing' },
      before + 1,
    );
  }, 120_000);

  it('an alert Alertmanager never held is acted on after the longest wait, with a warning', async () => {
    const victim = nodes[2]!;
    const firstAsked = Date.now();
    // Delivered by something that is not this Alertmanager (its fingerprint is nobody's there).
    await harness!.fire(victim, ALERT, { mountpoint: '/' }, new Date(Date.now() - 60_000));
    await eventually(
      `${victim} cordoned once the wait ran out`,
      async () => ((await cordoned(victim)) ? true : undefined),
      MAX_WAIT_MS + 60_000,
    );
    // Not before the longest wait: it waited for a resolved notification first.
    expect(Date.now() - firstAsked).toBeGreaterThanOrEqual(MAX_WAIT_MS);
    expect(workerLog()).toMatch(
      /Alertmanager holds none of its alerts unresolved since .*, but no resolved notification came in 20 s: going ahead/,
    );
    // Counted per check: a gate holding the heal after its wait ran out asks again (and goes).
    expect(
      await harness!.workerMetric('nodeheal_fault_confirmations_total', { result: 'waited-out' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await harness!.healsFor(victim)).toHaveLength(1);
  }, 180_000);
});
