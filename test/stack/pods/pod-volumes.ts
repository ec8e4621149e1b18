// A pod's volumes as the kubelet would lay them out, written to host directories that podman
// mounts: ConfigMap and Secret files, emptyDirs, and the ServiceAccount's token, CA and
// namespace at /var/run/secrets/kubernetes.io/serviceaccount (from the TokenRequest API).
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1KeyToPath, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import type { KubeClients } from '../helpers/kube.ts';
import { PodConfigError, type PodIdentity } from './pod-env.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Host directory per volume name; `readOnly` for sources Kubernetes mounts read-only. */
export interface MaterialisedVolume {
  hostPath: string;
  readOnly: boolean;
}

function writeFiles(
  dir: string,
  data: Record<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  defaultMode: number | undefined,
  what: string,
): void {
  mkdirSync(dir, { recursive: true });
  const chosen: V1KeyToPath[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of chosen) {
    const content = data[item.key];
    if (content === undefined) throw new PodConfigError(`${what}: no key ${item.key}`);
    const file = join(dir, item.path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    // Kubernetes' default mode is 0644: readable by any user the container runs as.
    chmodSync(file, item.mode ?? defaultMode ?? 0o644);
  }
}

async function materialise(
  kube: KubeClients,
  volume: V1Volume,
  id: PodIdentity,
  dir: string,
): Promise<MaterialisedVolume> {
  const hostPath = join(dir, 'volumes', volume.name);
  if (volume.emptyDir) {
    mkdirSync(hostPath, { recursive: true });
    chmodSync(hostPath, 0o777); // the kubelet creates emptyDirs world-writable
    return { hostPath, readOnly: false };
  }
  if (volume.configMap) {
    const cm = await kube.core.readNamespacedConfigMap({
      name: volume.configMap.name!,
      namespace: id.namespace,
    });
    const data = Object.fromEntries(
      Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')]),
    );
    writeFiles(
      hostPath,
      data,
      volume.configMap.items,
      volume.configMap.defaultMode,
      `ConfigMap ${volume.configMap.name}`,
    );
    return { hostPath, readOnly: true };
  }
  if (volume.secret) {
    const secret = await kube.core.readNamespacedSecret({
      name: volume.secret.secretName!,
      namespace: id.namespace,
    });
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    );
    writeFiles(
      hostPath,
      data,
      volume.secret.items,
      volume.secret.defaultMode,
      `Secret ${volume.secret.secretName}`,
    );
    return { hostPath, readOnly: true };
  }
  throw new PodConfigError(
    `volume ${volume.name}: only configMap, secret and emptyDir volumes are supported by the ` +
      'pod runner (the chart uses no other kind for serve and worker)',
  );
}

/** The ServiceAccount files a pod gets when its token is automounted. */
export async function serviceAccountVolume(
  kube: KubeClients,
  spec: V1PodSpec,
  id: PodIdentity,
  dir: string,
  caCert: string,
): Promise<MaterialisedVolume | undefined> {
  const name = spec.serviceAccountName ?? 'default';
  const sa = await kube.core.readNamespacedServiceAccount({ name, namespace: id.namespace });
  const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
  if (!automount) return undefined;
  const request = await kube.core.createNamespacedServiceAccountToken({
    name,
    namespace: id.namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new PodConfigError(`TokenRequest for ServiceAccount ${name} gave no token`);
  const hostPath = join(dir, 'serviceaccount');
  mkdirSync(hostPath, { recursive: true });
  writeFileSync(join(hostPath, 'token'), token, { mode: 0o644 });
  copyFileSync(caCert, join(hostPath, 'ca.crt'));
  chmodSync(join(hostPath, 'ca.crt'), 0o644);
  writeFileSync(join(hostPath, 'namespace'), id.namespace, { mode: 0o644 });
  return { hostPath, readOnly: true };
}

/** Every volume of the pod, by name. */
export async function materialiseVolumes(
  kube: KubeClients,
  spec: V1PodSpec,
  id: PodIdentity,
  dir: string,
): Promise<Map<string, MaterialisedVolume>> {
  const volumes = new Map<string, MaterialisedVolume>();
  for (const volume of spec.volumes ?? []) {
    volumes.set(volume.name, await materialise(kube, volume, id, dir));
  }
  return volumes;
}

/** podman `--volume` arguments for a container's volumeMounts. */
export function mountArgs(
  container: V1Container,
  volumes: Map<string, MaterialisedVolume>,
  serviceAccount: MaterialisedVolume | undefined,
): string[] {
  const args: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (!volume) throw new PodConfigError(`volumeMount ${mount.name}: no such volume`);
    const source = mount.subPath ? join(volume.hostPath, mount.subPath) : volume.hostPath;
    const ro = mount.readOnly || volume.readOnly;
    args.push('--volume', `${source}:${mount.mountPath}:${ro ? 'ro' : 'rw'}`);
  }
  if (serviceAccount) args.push('--volume', `${serviceAccount.hostPath}:${SERVICE_ACCOUNT_DIR}:ro`);
  return args;
}
