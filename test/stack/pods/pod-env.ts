// The environment a kubelet gives a container: service links, envFrom, env with `valueFrom`
// resolved (Secrets, ConfigMaps, the downward API) and `$(VAR)` references expanded, in the
// order and with the precedence Kubernetes documents.
import type { V1Container, V1EnvVar, V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import type { KubeClients } from '../helpers/kube.ts';

export interface PodIdentity {
  namespace: string;
  podName: string;
  podUid: string;
  nodeName: string;
  /** The pod runs in the host's network namespace here: its IP is the host's loopback. */
  podIp: string;
  metadata: V1ObjectMeta;
}

export class PodConfigError extends Error {
  readonly code = 'POD_RUNNER_CONFIG';
}

/** `$(VAR)` expansion as the kubelet does it: `$$` escapes, unknown names stay as written. */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === '$$') return '$';
    return name !== undefined && name in vars ? (vars[name] as string) : match;
  });
}

/**
 * Service environment variables of every Service in the namespace (`enableServiceLinks`,
 * on by default), plus the apiserver's own, pointed at the stack's apiserver.
 */
export async function serviceLinkEnv(
  kube: KubeClients,
  spec: V1PodSpec,
  namespace: string,
  apiserver: { host: string; port: number },
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (spec.enableServiceLinks !== false) {
    const services = await kube.core.listNamespacedService({ namespace });
    for (const svc of services.items) {
      const ip = svc.spec?.clusterIP;
      const ports = svc.spec?.ports ?? [];
      if (!ip || ip === 'None' || ports.length === 0) continue;
      const name = svc.metadata!.name!.toUpperCase().replaceAll('-', '_');
      const first = ports[0]!;
      env[`${name}_SERVICE_HOST`] = ip;
      env[`${name}_SERVICE_PORT`] = String(first.port);
      env[`${name}_PORT`] = `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`;
      for (const port of ports) {
        const proto = port.protocol ?? 'TCP';
        if (port.name) {
          env[`${name}_SERVICE_PORT_${port.name.toUpperCase().replaceAll('-', '_')}`] = String(
            port.port,
          );
        }
        const prefix = `${name}_PORT_${port.port}_${proto}`;
        env[prefix] = `${proto.toLowerCase()}://${ip}:${port.port}`;
        env[`${prefix}_PROTO`] = proto.toLowerCase();
        env[`${prefix}_PORT`] = String(port.port);
        env[`${prefix}_ADDR`] = ip;
      }
    }
  }
  // In a cluster these point at the `kubernetes` Service; here at the stack's apiserver.
  env.KUBERNETES_SERVICE_HOST = apiserver.host;
  env.KUBERNETES_SERVICE_PORT = String(apiserver.port);
  env.KUBERNETES_SERVICE_PORT_HTTPS = String(apiserver.port);
  env.KUBERNETES_PORT = `tcp://${apiserver.host}:${apiserver.port}`;
  return env;
}

async function secretData(kube: KubeClients, namespace: string, name: string) {
  const secret = await kube.core.readNamespacedSecret({ name, namespace });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    out[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

async function configMapData(kube: KubeClients, namespace: string, name: string) {
  const cm = await kube.core.readNamespacedConfigMap({ name, namespace });
  return { ...(cm.data ?? {}) };
}

/** Reads a Secret or ConfigMap; `optional` ones that are missing read as undefined. */
async function readOptional<T>(
  read: () => Promise<T>,
  optional: boolean | undefined,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (optional && (error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

function quantityToNumber(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) throw new PodConfigError(`cannot read the quantity ${q}`);
  const units: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
  };
  const unit = units[m[2]!];
  if (unit === undefined) throw new PodConfigError(`unknown quantity unit in ${q}`);
  return Number(m[1]) * unit;
}

async function valueFrom(
  kube: KubeClients,
  env: V1EnvVar,
  container: V1Container,
  id: PodIdentity,
  spec: V1PodSpec,
): Promise<string | undefined> {
  const from = env.valueFrom!;
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const data = await readOptional(() => secretData(kube, id.namespace, ref.name!), ref.optional);
    const value = data?.[ref.key];
    if (value === undefined && !ref.optional) {
      throw new PodConfigError(`env ${env.name}: key ${ref.key} not in Secret ${ref.name}`);
    }
    return value;
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const data = await readOptional(
      () => configMapData(kube, id.namespace, ref.name!),
      ref.optional,
    );
    const value = data?.[ref.key];
    if (value === undefined && !ref.optional) {
      throw new PodConfigError(`env ${env.name}: key ${ref.key} not in ConfigMap ${ref.name}`);
    }
    return value;
  }
  if (from.fieldRef) {
    const path = from.fieldRef.fieldPath;
    const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (label) return id.metadata[label[1] as 'labels' | 'annotations']?.[label[2]!] ?? '';
    const fields: Record<string, string> = {
      'metadata.name': id.podName,
      'metadata.namespace': id.namespace,
      'metadata.uid': id.podUid,
      'spec.nodeName': id.nodeName,
      'spec.serviceAccountName': spec.serviceAccountName ?? 'default',
      'status.podIP': id.podIp,
      'status.hostIP': id.podIp,
    };
    const value = fields[path];
    if (value === undefined) throw new PodConfigError(`env ${env.name}: fieldRef ${path}`);
    return value;
  }
  if (from.resourceFieldRef) {
    const ref = from.resourceFieldRef;
    const [kind, resource] = ref.resource.split('.') as ['limits' | 'requests', string];
    const raw = container.resources?.[kind]?.[resource];
    if (raw === undefined) throw new PodConfigError(`env ${env.name}: no ${ref.resource} set`);
    const divisor = quantityToNumber(String(ref.divisor ?? '1'));
    return String(Math.ceil(quantityToNumber(String(raw)) / divisor));
  }
  throw new PodConfigError(`env ${env.name}: unsupported valueFrom`);
}

/** The container's environment, as the kubelet builds it. */
export async function containerEnv(
  kube: KubeClients,
  container: V1Container,
  spec: V1PodSpec,
  id: PodIdentity,
  base: Record<string, string>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...base };
  for (const source of container.envFrom ?? []) {
    const data = source.secretRef
      ? await readOptional(
          () => secretData(kube, id.namespace, source.secretRef!.name!),
          source.secretRef.optional,
        )
      : source.configMapRef
        ? await readOptional(
            () => configMapData(kube, id.namespace, source.configMapRef!.name!),
            source.configMapRef.optional,
          )
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[`${source.prefix ?? ''}${k}`] = v;
  }
  for (const item of container.env ?? []) {
    if (item.valueFrom) {
      const value = await valueFrom(kube, item, container, id, spec);
      if (value !== undefined) env[item.name] = value;
    } else {
      env[item.name] = expandVars(item.value ?? '', env);
    }
  }
  return env;
}
