// A StatefulSet whose pod has a CSI volume, so that kube-controller-manager's attach/detach
// controller really attaches it to the node (a VolumeAttachment object) and detaches it only
// when Kubernetes says it may: once the pod is gone from a node that no longer uses the volume,
// or at once on a node carrying the out-of-service taint.
import { StorageV1Api, type V1Pod, type V1VolumeAttachment } from '@kubernetes/client-node';
import { mergePatch, type KubeClients } from './kube.ts';

export const FAKE_CSI_DRIVER = 'fake.csi.nodeheal.test';
/** The annotation a kubelet sets when it lets the controller attach and detach its volumes. */
const CONTROLLER_MANAGED_ATTACH = 'volumes.kubernetes.io/controller-managed-attach-detach';

/** Lets the attach/detach controller manage the nodes' volumes (a kubelet does this at start). */
export async function letControllerAttach(kube: KubeClients, nodes: string[]): Promise<void> {
  for (const name of nodes) {
    await kube.core.patchNode(
      { name, body: { metadata: { annotations: { [CONTROLLER_MANAGED_ATTACH]: 'true' } } } },
      mergePatch,
    );
  }
}

/** A one-replica StatefulSet `db` with a ReadWriteOnce CSI volume bound to a static PV. */
export async function createStatefulSetWithVolume(
  kube: KubeClients,
  namespace: string,
  nodeSelector: Record<string, string>,
): Promise<{ pv: string; volumeHandle: string }> {
  const pv = `pv-${namespace}`;
  const volumeHandle = `vol-${namespace}`;
  await kube.core.createPersistentVolume({
    body: {
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'fake',
        csi: { driver: FAKE_CSI_DRIVER, volumeHandle },
        claimRef: { namespace, name: 'data-db-0' },
      },
    },
  });
  await kube.apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            nodeSelector,
            terminationGracePeriodSeconds: 1,
            containers: [
              { name: 'db', image: 'db', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: 'fake',
              resources: { requests: { storage: '1Gi' } },
            },
          },
        ],
      },
    },
  });
  return { pv, volumeHandle };
}

/** The VolumeAttachment of a PV, if any. */
export async function attachmentOf(
  kube: KubeClients,
  pv: string,
): Promise<V1VolumeAttachment | undefined> {
  const storage = kube.kc.makeApiClient(StorageV1Api);
  const all = await storage.listVolumeAttachment();
  return all.items.find((va) => va.spec.source.persistentVolumeName === pv);
}

/**
 * Plays the CSI driver's attacher (the controller only creates the VolumeAttachment) and the
 * kubelet (which reports the volume in use): the node now holds the volume mounted, so the
 * controller may detach it only when the pod is gone and the node is known to be down.
 */
export async function markAttachedAndInUse(
  kube: KubeClients,
  attachment: V1VolumeAttachment,
  node: string,
  volumeHandle: string,
): Promise<void> {
  const storage = kube.kc.makeApiClient(StorageV1Api);
  await storage.patchVolumeAttachmentStatus(
    { name: attachment.metadata!.name!, body: { status: { attached: true } } },
    mergePatch,
  );
  const uniqueName = `kubernetes.io/csi/${FAKE_CSI_DRIVER}^${volumeHandle}`;
  await kube.core.patchNodeStatus(
    {
      name: node,
      body: {
        status: {
          volumesInUse: [uniqueName],
          volumesAttached: [{ name: uniqueName, devicePath: '' }],
        },
      },
    },
    mergePatch,
  );
}

/** The StatefulSet's pod db-0, if it exists. */
export async function dbPod(kube: KubeClients, namespace: string): Promise<V1Pod | undefined> {
  const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=db' });
  return pods.items.find((p) => p.metadata?.name === 'db-0');
}
