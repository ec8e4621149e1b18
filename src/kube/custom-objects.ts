// Typed reads of custom resources (Cluster API Machines, Karpenter NodeClaims) through the
// CustomObjectsApi, which answers untyped JSON.
import type { CustomObjectsApi, V1ObjectMeta } from '@kubernetes/client-node';
import { kubeCall } from './errors.ts';

/** The parts of any Kubernetes object nodeheal reads; `status` is the kind's own. */
export interface KubeObject<Status = Record<string, unknown>> {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Status;
}

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

interface ObjectList<T> {
  items?: T[];
  metadata?: { continue?: string };
}

/**
 * Every object of a custom resource, in all namespaces for a namespaced kind (paged). Failures are
 * mapped (a 404 here means the CRD is not installed).
 */
export async function listCustomObjects<T extends KubeObject<unknown>>(
  api: CustomObjectsApi,
  ref: ResourceRef,
): Promise<T[]> {
  const items: T[] = [];
  let continueToken: string | undefined;
  do {
    const page = (await kubeCall(`list ${ref.plural}.${ref.group}/${ref.version}`, () =>
      api.listClusterCustomObject({
        ...ref,
        limit: 500,
        ...(continueToken ? { _continue: continueToken } : {}),
      }),
    )) as ObjectList<T>;
    items.push(...(page.items ?? []));
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return items;
}
