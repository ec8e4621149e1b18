// Kubernetes clients for tests, built from the stack's admin kubeconfig (or a token).
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { StackInfo } from '../stack.ts';

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  rbac: RbacAuthorizationV1Api;
  coordination: CoordinationV1Api;
}

function clientsFor(kc: KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

export function adminClients(info: StackInfo): KubeClients {
  if (!info.kubeconfig) throw new Error('this stack has no Kubernetes part');
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  return clientsFor(kc);
}

/** Clients that authenticate with a bearer token (a ServiceAccount's), not the admin cert. */
export function tokenClients(info: StackInfo, token: string): KubeClients {
  if (!info.apiserverUrl || !info.caCert) throw new Error('this stack has no Kubernetes part');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: info.apiserverUrl, caFile: info.caCert }],
    users: [{ name: 'token', token }],
    contexts: [{ name: 'local', cluster: 'local', user: 'token' }],
    currentContext: 'local',
  });
  return clientsFor(kc);
}

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** HTTP status of a failed API call, or undefined when it is not an API error. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Runs an API call and returns its HTTP status: 200 on success, the error's code otherwise. */
export async function statusOfCall(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    const code = statusOf(error);
    if (code === undefined) throw error;
    return code;
  }
}

let counter = 0;
/** A DNS-1123 name unique to this test process, so that test files never collide. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36).slice(-4)}${counter}`;
}
