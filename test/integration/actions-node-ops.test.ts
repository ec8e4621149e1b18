// KubeNodeOps against the real API server: cordon ownership, the heal annotation, and Events with
// the contract's constant reasons.
import { nodeView } from '../stack/helpers/views.ts';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ANNOTATION_CORDONED_BY,
  ANNOTATION_HEAL,
  CORDONED_BY_VALUE,
  EVENT_REASONS,
  type EventReason,
} from '../../src/actions/interfaces.ts';
import { eventName, KubeNodeOps } from '../../src/actions/kube-node-ops.ts';
import {
  ConflictError,
  NotFoundError,
  PermanentError,
  toKubeError,
  TransientError,
} from '../../src/kube/errors.ts';
import { adminClients, mergePatch, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let ops: KubeNodeOps;

/** nodeheal's own identity (the chart's ClusterRole): what nodeheal's code runs with. */
let asNodeheal: KubeConfig;

beforeAll(async () => {
  kube = adminClients(stack);
  asNodeheal = (await nodehealKubeconfig(kube, stack)).kc;
  ops = new KubeNodeOps(asNodeheal, { instance: 'test' });
});

async function node(name: string) {
  return await kube.core.readNode({ name });
}

describe('KubeNodeOps cordon and uncordon', () => {
  it('cordons with the ownership annotation, is idempotent, and uncordons only its own cordon', async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('cordon'), size: 1 });
    const n = name!;

    expect(await ops.cordon(n)).toBe('cordoned');
    const cordoned = await node(n);
    expect(cordoned.spec?.unschedulable).toBe(true);
    expect(cordoned.metadata?.annotations?.[ANNOTATION_CORDONED_BY]).toBe(CORDONED_BY_VALUE);

    expect(await ops.cordon(n)).toBe('already-cordoned-by-us');
    expect(nodeView(await node(n))).toEqual(nodeView(cordoned));

    expect(await ops.uncordon(n)).toBe('uncordoned');
    const uncordoned = await node(n);
    expect(uncordoned.spec?.unschedulable).toBeFalsy();
    expect(uncordoned.metadata?.annotations?.[ANNOTATION_CORDONED_BY]).toBeUndefined();

    // A second uncordon finds no cordon of ours.
    expect(await ops.uncordon(n)).toBe('not-ours');
  });

  it("leaves someone else's cordon alone, and never uncordons it", async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('theirs'), size: 1 });
    const n = name!;
    // An operator's `kubectl cordon`: unschedulable, no nodeheal annotation.
    await kube.core.patchNode({ name: n, body: { spec: { unschedulable: true } } }, mergePatch);
    const before = await node(n);

    expect(await ops.cordon(n)).toBe('cordoned-by-someone-else');
    expect(await ops.uncordon(n)).toBe('not-ours');

    const after = await node(n);
    expect(nodeView(after)).toEqual(nodeView(before));
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.metadata?.annotations?.[ANNOTATION_CORDONED_BY]).toBeUndefined();
  });

  it('treats an absent node as state, not an error', async () => {
    const missing = uniqueName('missing');
    expect(await ops.get(missing)).toBeUndefined();
    expect(await ops.cordon(missing)).toBe('absent');
    expect(await ops.uncordon(missing)).toBe('absent');
    await expect(ops.annotateHeal(missing, 'h1 drain')).resolves.toBeUndefined();
  });

  it('concurrent cordons of the same node: exactly one cordons, the other sees it as ours', async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('race'), size: 1 });
    const outcomes = await Promise.all([ops.cordon(name!), ops.cordon(name!), ops.cordon(name!)]);
    expect(outcomes.filter((o) => o === 'cordoned')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'already-cordoned-by-us')).toHaveLength(2);
  });
});

describe('KubeNodeOps heal annotation', () => {
  it('sets, replaces and removes nodeheal.io/heal', async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('annot'), size: 1 });
    const n = name!;
    await ops.annotateHeal(n, 'heal-1 cordon');
    expect((await node(n)).metadata?.annotations?.[ANNOTATION_HEAL]).toBe('heal-1 cordon');
    await ops.annotateHeal(n, 'heal-1 drain');
    expect((await node(n)).metadata?.annotations?.[ANNOTATION_HEAL]).toBe('heal-1 drain');
    await ops.annotateHeal(n, null);
    expect((await node(n)).metadata?.annotations?.[ANNOTATION_HEAL]).toBeUndefined();
  });
});

describe('KubeNodeOps events', () => {
  it('records an Event on the Node for every constant reason, from component nodeheal', async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('events'), size: 1 });
    const n = name!;
    const uid = (await node(n)).metadata?.uid;
    for (const reason of EVENT_REASONS) {
      await ops.event(
        n,
        reason,
        `${reason} for a test`,
        reason === 'RemedyFailed' ? 'Warning' : 'Normal',
      );
    }
    const events = (
      await kube.core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.kind=Node,involvedObject.name=${n}`,
      })
    ).items.filter((e) => e.source?.component === 'nodeheal');
    expect(events.map((e) => e.reason).sort()).toEqual([...EVENT_REASONS].sort());
    for (const event of events) {
      expect(event.involvedObject.kind).toBe('Node');
      expect(event.involvedObject.uid).toBe(uid);
      expect(event.message).toBe(`${event.reason} for a test`);
      expect(event.type).toBe(event.reason === 'RemedyFailed' ? 'Warning' : 'Normal');
    }
    // The same Events are found by reason, the way `kubectl get events --field-selector` does.
    const drained = await kube.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${n},reason=NodeDrained`,
    });
    expect(drained.items).toHaveLength(1);
  });

  it('records an Event for a Node that is already gone (NodeReplaced after deletion)', async () => {
    const gone = uniqueName('gone');
    await ops.event(gone, 'NodeReplaced', 'replaced by a test');
    const events = await kube.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${gone},reason=NodeReplaced`,
    });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]?.involvedObject.uid).toBe(gone);
  });

  it('writes an Event with a key once: written again (a resumed heal), it is found, not doubled', async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('evonce'), size: 1 });
    const n = name!;
    await ops.event(n, 'NodeDrained', 'first write', 'Normal', 'heal-9/s1/a0/NodeDrained');
    await ops.event(n, 'NodeDrained', 'written again', 'Normal', 'heal-9/s1/a0/NodeDrained');
    // Another occasion of the same heal is another Event.
    await ops.event(n, 'NodeDrained', 'next attempt', 'Normal', 'heal-9/s1/a1/NodeDrained');
    const events = await kube.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${n},reason=NodeDrained`,
    });
    expect(events.items.map((e) => e.message).sort()).toEqual(['first write', 'next attempt']);
    expect(events.items.map((e) => e.metadata?.name)).toContain(
      eventName(n, 'heal-9/s1/a0/NodeDrained'),
    );
  });

  it('refuses a reason outside the contract', async () => {
    await expect(ops.event('any', 'Rebooted' as EventReason, 'x')).rejects.toThrow(
      /unknown Event reason/,
    );
  });
});

describe('Kubernetes error mapping (src/kube/errors.ts)', () => {
  async function mapped(call: () => Promise<unknown>): Promise<Error> {
    try {
      await call();
    } catch (error) {
      return toKubeError(error, 'test call');
    }
    throw new Error('the call succeeded');
  }

  it('maps real API server answers to classes with a stable code', async () => {
    const [name] = await createNodePool(kube, { name: uniqueName('errs'), size: 1 });
    const notFound = await mapped(() => kube.core.readNode({ name: uniqueName('nope') }));
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound).toMatchObject({ code: 'KUBE_NOT_FOUND', status: 404, reason: 'NotFound' });
    expect(notFound.message).toMatch(/^test call: .*not found/);

    const conflict = await mapped(() =>
      kube.core.createNode({ body: { metadata: { name: name! } } }),
    );
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict).toMatchObject({ code: 'KUBE_CONFLICT', reason: 'AlreadyExists' });
    expect((conflict as ConflictError).retryable).toBe(true);

    const invalid = await mapped(() =>
      kube.core.createNode({ body: { metadata: { name: 'Not_A_DNS_Name' } } }),
    );
    expect(invalid).toBeInstanceOf(PermanentError);
    expect(invalid).toMatchObject({ code: 'KUBE_PERMANENT', status: 422 });
    expect((invalid as PermanentError).retryable).toBe(false);

    const stale = await mapped(() =>
      kube.core.patchNode(
        { name: name!, body: { metadata: { resourceVersion: '1', labels: { a: 'b' } } } },
        mergePatch,
      ),
    );
    expect(stale).toBeInstanceOf(ConflictError);
  });

  it('an unreachable API server is transient', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const error = await mapped(() => kc.makeApiClient(CoreV1Api).readNode({ name: 'n' }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'KUBE_TRANSIENT', status: undefined });
    expect(await new KubeNodeOps(kc).get('n').catch((e: unknown) => e)).toBeInstanceOf(
      TransientError,
    );
  });

  it('an abort keeps its identity', () => {
    const reason = new DOMException('stopped', 'AbortError');
    expect(toKubeError(reason, 'x')).toBe(reason);
  });
});
