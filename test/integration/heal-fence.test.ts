// Fence before giving away (issue 9): an unreachable node's StatefulSet pod is not recreated, its
// volume not detached and its Node not deleted until the node is fenced; then the out-of-service
// taint lets Kubernetes (the real kube-controller-manager: pod GC, attach/detach controller) move
// the pod and release the volume. A pool without a provider is never deleted from. A pool with
// self-fencing agents is fenced once the safe time has passed and its agent does not answer.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, statusOfCall, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel, waitNodeReady } from '../stack/helpers/pool.ts';
import {
  attachmentOf,
  createStatefulSetWithVolume,
  dbPod,
  letControllerAttach,
  markAttachedAndInUse,
} from '../stack/helpers/stateful.ts';
import { createNamespace } from '../stack/helpers/workloads.ts';
import { freePort } from '../stack/ports.ts';
import { sleep } from '../stack/wait.ts';
import { HARNESS_ADMIN_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';
const SAFE_TIME_SECONDS = 12;
let kube: KubeClients;
let harness: Harness;
const fencePool = uniqueName('fence');
const noProviderPool = uniqueName('noprov');
const selfPool = uniqueName('self');
let agentPort: number;

beforeAll(async () => {
  kube = adminClients(stack);
  const dir = mkdtempSync(join(tmpdir(), 'nodeheal-fence-'));
  const secretFile = join(dir, 'agent-secret');
  writeFileSync(secretFile, `${'ab'.repeat(32)}\n`);
  agentPort = await freePort();
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'node-not-ready': [{ action: 'replace', timeout: '600s' }] },
    workerEnv: {
      // plain deletes the Node object only: it cannot fence. The third pool has no provider.
      NODEHEAL_PROVIDERS: JSON.stringify([
        { selector: { [poolLabel]: fencePool }, provider: 'plain' },
        { selector: { [poolLabel]: selfPool }, provider: 'plain' },
      ]),
      NODEHEAL_SELF_FENCE: JSON.stringify({
        selector: { [poolLabel]: selfPool },
        safeTimeSeconds: SAFE_TIME_SECONDS,
      }),
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      // The self-fencing pool's agent, on loopback: a port the test opens and closes.
      NODEHEAL_AGENT_ENDPOINTS: JSON.stringify({
        [`${selfPool}-1`]: `http://127.0.0.1:${agentPort}`,
      }),
      NODEHEAL_VERIFY_POLL_MS: '500',
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

async function runningHeal(node: string): Promise<HealRecord> {
  return await eventually(
    `a heal of ${node}`,
    async () => (await harness.healsFor(node))[0],
    90_000,
  );
}

async function killKubelet(node: string): Promise<void> {
  await stopHeartbeat(kube, node);
  await waitNodeReady(kube, node, 'Unknown', 90_000);
  await harness.fire(node, 'NodeUnreachable', { condition: 'Ready', status: 'unknown' });
}

const hasOutOfService = async (node: string) =>
  (await kube.core.readNode({ name: node })).spec?.taints?.some((t) => t.key === OUT_OF_SERVICE) ??
  false;

describe('no provider, no delete', () => {
  it('a node of a pool no provider rule names is never deleted: the heal is abandoned, saying why', async () => {
    const nodes = await createNodePool(kube, { name: noProviderPool, size: 2 });
    const victim = nodes[1]!;
    await killKubelet(victim);
    const heal = await harness.finishedHeal(victim, 90_000);
    expect(heal.status).toBe('abandoned');
    expect(heal.outcomeReason).toMatch(/no provider for this pool/);
    const left = await kube.core.listNode({ labelSelector: `${poolLabel}=${noProviderPool}` });
    expect(left.items.map((n) => n.metadata!.name).sort()).toEqual([...nodes].sort());
    expect(heal.fence).toBeNull();
  });
});

describe('fencing an unreachable node', () => {
  it('its StatefulSet pod moves and its volume detaches only after an operator confirms it is down', async () => {
    const nodes = await createNodePool(kube, { name: fencePool, size: 3 });
    await letControllerAttach(kube, nodes);
    const namespace = uniqueName('fence-db');
    await createNamespace(kube, namespace);
    const { pv, volumeHandle } = await createStatefulSetWithVolume(kube, namespace, {
      [poolLabel]: fencePool,
    });
    const first = await eventually('db-0 running', async () => {
      const pod = await dbPod(kube, namespace);
      return pod?.status?.phase === 'Running' ? pod : undefined;
    });
    const victim = first.spec!.nodeName!;
    const attachment = await eventually('the volume attached by the controller', () =>
      attachmentOf(kube, pv),
    );
    expect(attachment.spec.nodeName).toBe(victim);
    await stopHeartbeat(kube, victim);
    await markAttachedAndInUse(kube, attachment, victim, volumeHandle);

    // Watch what Kubernetes does, every 250 ms, for the whole test.
    let movedAt: number | undefined;
    let detachedAt: number | undefined;
    let nodeDeletedAt: number | undefined;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pod = await dbPod(kube, namespace).catch(() => undefined);
        if (movedAt === undefined && pod && pod.metadata!.uid !== first.metadata!.uid) {
          movedAt = Date.now();
        }
        if (detachedAt === undefined && !(await attachmentOf(kube, pv).catch(() => attachment))) {
          detachedAt = Date.now();
        }
        if (nodeDeletedAt === undefined) {
          const status = await statusOfCall(() => kube.core.readNode({ name: victim })).catch(
            () => 0,
          );
          if (status === 404) nodeDeletedAt = Date.now();
        }
        await sleep(250);
      }
    })();

    try {
      await waitNodeReady(kube, victim, 'Unknown', 90_000);
      await harness.fire(victim, 'NodeUnreachable', { condition: 'Ready', status: 'unknown' });
      const waiting = await eventually(
        'the heal waiting for a fence',
        async () => {
          const heal = await runningHeal(victim);
          return heal.transitions.some((t) => t.kind === 'awaiting-fence') ? heal : undefined;
        },
        90_000,
      );
      // Longer than the drain's skip-wait (2 s) and pod GC's period (20 s): without a fence,
      // nothing moves, however long the wait.
      await sleep(25_000);
      expect(movedAt, 'db-0 recreated before any fence').toBeUndefined();
      expect(detachedAt, 'volume detached before any fence').toBeUndefined();
      expect(await hasOutOfService(victim)).toBe(false);
      const still = (await harness.healsFor(victim))[0]!;
      expect(still.status).toBe('running');
      expect(still.fence).toBeNull();
      const page = await (
        await fetch(`${harness.serveUrl}/heals/${waiting.id}`, { headers: { accept: 'text/html' } })
      ).text();
      expect(page).toMatch(/waiting for a fence/);

      const confirmed = await fetch(`${harness.serveUrl}/heals/${waiting.id}/fence`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${HARNESS_ADMIN_TOKEN}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ by: 'oncall', reason: 'BMC shows the machine powered off' }),
      });
      expect(confirmed.status).toBe(202);

      const heal = await harness.finishedHeal(victim, 180_000);
      expect(heal.status, JSON.stringify(heal.transitions.map((t) => t.detail))).toBe('healed');
      expect(heal.fence).toMatchObject({ method: 'operator', by: 'admin-api (oncall)' });
      const fencedAt = heal.fence!.at;
      expect(heal.outOfServiceAt).toBeGreaterThanOrEqual(fencedAt);
      const kinds = heal.transitions.map((t) => t.kind);
      expect(kinds.indexOf('awaiting-fence')).toBeLessThan(kinds.indexOf('fenced'));
      expect(kinds.indexOf('fenced')).toBeLessThan(kinds.indexOf('out-of-service'));

      // Kubernetes moved the pod and released the volume, after the taint and not before (the
      // heal waits for the pods to go before it deletes the Node).
      await eventually('db-0 recreated', () => movedAt, 120_000);
      // Kubernetes detaches at once after the out-of-service taint, unless the Node is deleted
      // before its attach-detach controller acted on the taint (it would then wait its 6-minute
      // maxWaitForUnmountDuration): the heal waits for the node's volumes to go first.
      await eventually('the volume released', () => detachedAt, 150_000);
      await eventually('the node deleted', () => nodeDeletedAt, 150_000);
      expect(detachedAt!).toBeLessThanOrEqual(nodeDeletedAt!);
      expect(movedAt!).toBeGreaterThanOrEqual(heal.outOfServiceAt!);
      expect(detachedAt!).toBeGreaterThanOrEqual(heal.outOfServiceAt!);
      const moved = await dbPod(kube, namespace);
      expect(moved!.spec?.nodeName).not.toBe(victim);
    } finally {
      watching = false;
      await watcher;
    }
  }, 480_000);

  it('a self-fencing pool: fenced once the safe time has passed and its agent no longer answers', async () => {
    const nodes = await createNodePool(kube, { name: selfPool, size: 2 });
    const victim = nodes[1]!;
    // The node's agent still answers: the node runs, so it will not fence itself.
    const agent: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => agent.listen(agentPort, '127.0.0.1', r));
    let agentOpen = true;
    try {
      await killKubelet(victim);
      const heal = await runningHeal(victim);
      await eventually(
        'the heal waiting on the answering agent',
        async () =>
          (await harness.healsFor(victim))[0]!.transitions.some(
            (t) => t.kind === 'awaiting-fence' && t.detail.includes('agent still answers'),
          ),
        60_000,
      );
      // Well past the safe time since the kubelet was last heard from: still no fence.
      await sleep((SAFE_TIME_SECONDS + 3) * 1000);
      expect((await harness.healsFor(victim))[0]!.fence).toBeNull();
      expect(await hasOutOfService(victim)).toBe(false);

      await new Promise((r) => agent.close(r));
      agentOpen = false;
      const closedAt = Date.now();
      const done = await harness.finishedHeal(victim, 120_000);
      expect(done.id).toBe(heal.id);
      expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
      expect(done.fence).toMatchObject({ method: 'self-fence', by: 'agent' });
      // The agent's clock starts when nodeheal first misses it, not when the kubelet died.
      expect(done.fence!.at).toBeGreaterThanOrEqual(closedAt + SAFE_TIME_SECONDS * 1000 - 1000);
      expect(done.outOfServiceAt).toBeGreaterThanOrEqual(done.fence!.at);
    } finally {
      if (agentOpen) await new Promise((r) => agent.close(r));
    }
  }, 300_000);
});
