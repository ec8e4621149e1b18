// Events nodeheal wrote about a node (Kubernetes' own events on it are left out).
import type { CoreV1Event } from '@kubernetes/client-node';
import type { KubeClients } from './kube.ts';

export async function nodehealEvents(kube: KubeClients, node: string): Promise<CoreV1Event[]> {
  const list = await kube.core.listEventForAllNamespaces({
    fieldSelector: `involvedObject.name=${node}`,
  });
  return list.items.filter(
    (e) => e.source?.component === 'nodeheal' || e.reportingComponent === 'nodeheal',
  );
}
