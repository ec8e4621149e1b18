// Fault injection on simulated nodes.
import { kwokManagedLabel, kwokManagedValue } from '../stack.ts';
import { mergePatch, strategicPatch, type KubeClients } from './kube.ts';
import { podsOnNode } from './workloads.ts';

/**
 * The node's kubelet "dies": KWOK stops managing it, so its lease is no longer renewed, its
 * status is no longer updated and its pods are frozen. kube-controller-manager then marks it
 * Ready=Unknown after the node monitor grace period, as for a real dead node.
 */
export async function stopHeartbeat(kube: KubeClients, node: string): Promise<void> {
  await kube.core.patchNode(
    { name: node, body: { metadata: { labels: { [kwokManagedLabel]: 'stopped' } } } },
    mergePatch,
  );
}

/** The kubelet comes back: KWOK manages the node again and re-initialises its status. */
export async function resumeHeartbeat(kube: KubeClients, node: string): Promise<void> {
  await kube.core.patchNode(
    { name: node, body: { metadata: { labels: { [kwokManagedLabel]: kwokManagedValue } } } },
    mergePatch,
  );
}

/**
 * Sets a node condition the way node-problem-detector does (for example KernelDeadlock=True).
 * Conditions merge by type, so the simulated kubelet's heartbeat leaves it in place.
 */
export async function setNodeCondition(
  kube: KubeClients,
  node: string,
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason = `${type}Injected`,
  message = `${type} injected by a nodeheal test`,
): Promise<void> {
  const now = new Date().toISOString();
  await kube.core.patchNodeStatus(
    {
      name: node,
      body: {
        status: {
          conditions: [
            { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now },
          ],
        },
      },
    },
    strategicPatch,
  );
}

export const pinLabel = 'nodeheal.test/pinned-to';

/**
 * Makes every non-DaemonSet pod on the node un-evictable: labels them and creates, in each of
 * their namespaces, a PDB over that label whose minAvailable is the number of those pods, so the
 * Eviction API answers 429. (An integer minAvailable also covers bare pods, which a
 * maxUnavailable budget cannot count because they have no controller.)
 */
export async function makePodsUnevictable(kube: KubeClients, node: string): Promise<number> {
  const pods = (await podsOnNode(kube, node)).filter(
    (p) => !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet'),
  );
  const perNamespace = new Map<string, number>();
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? 'default';
    perNamespace.set(namespace, (perNamespace.get(namespace) ?? 0) + 1);
    await kube.core.patchNamespacedPod(
      {
        name: pod.metadata?.name ?? '',
        namespace,
        body: { metadata: { labels: { [pinLabel]: node } } },
      },
      mergePatch,
    );
  }
  for (const [namespace, count] of perNamespace) {
    await kube.policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: {
        metadata: { name: `pin-${node}` },
        spec: { minAvailable: count, selector: { matchLabels: { [pinLabel]: node } } },
      },
    });
  }
  return pods.length;
}
