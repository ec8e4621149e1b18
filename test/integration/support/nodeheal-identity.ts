// nodeheal's own identity in the test cluster: a ServiceAccount bound to exactly the ClusterRole
// its chart ships (plus the chart's optional kwok-provider role, as the local demo enables), and
// a kubeconfig with a TokenRequest token for it. Heal tests run serve and worker with this, not
// as admin, so a missing or excess permission in the chart shows up as a failing test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ClusterRole } from '@kubernetes/client-node';
import { loadChartClusterRole, loadChartKwokClusterRole } from '../../stack/helpers/chart-rbac.ts';
import { statusOf, type KubeClients } from '../../stack/helpers/kube.ts';
import type { StackInfo } from '../../stack/stack.ts';

export const NODEHEAL_NAMESPACE = 'nodeheal-system';
export const NODEHEAL_SERVICE_ACCOUNT = 'nodeheal';

async function ignoreConflict(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (statusOf(error) !== 409) throw error;
  }
}

async function applyClusterRole(kube: KubeClients, role: V1ClusterRole): Promise<void> {
  const name = role.metadata!.name!;
  try {
    await kube.rbac.createClusterRole({ body: role });
  } catch (error) {
    if (statusOf(error) !== 409) throw error;
    await kube.rbac.replaceClusterRole({ name, body: role });
  }
  await ignoreConflict(() =>
    kube.rbac.createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [
          { kind: 'ServiceAccount', name: NODEHEAL_SERVICE_ACCOUNT, namespace: NODEHEAL_NAMESPACE },
        ],
      },
    }),
  );
}

/** Creates (idempotently) nodeheal's ServiceAccount and chart RBAC; returns a kubeconfig path for it. */
export async function nodehealKubeconfig(
  kube: KubeClients,
  stack: StackInfo,
): Promise<{ path: string; token: string }> {
  await ignoreConflict(() =>
    kube.core.createNamespace({ body: { metadata: { name: NODEHEAL_NAMESPACE } } }),
  );
  await ignoreConflict(() =>
    kube.core.createNamespacedServiceAccount({
      namespace: NODEHEAL_NAMESPACE,
      body: { metadata: { name: NODEHEAL_SERVICE_ACCOUNT } },
    }),
  );
  await applyClusterRole(kube, loadChartClusterRole());
  await applyClusterRole(kube, loadChartKwokClusterRole());
  const request = await kube.core.createNamespacedServiceAccountToken({
    name: NODEHEAL_SERVICE_ACCOUNT,
    namespace: NODEHEAL_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 2 * 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error('TokenRequest for nodeheal returned no token');
  const path = join(mkdtempSync(join(tmpdir(), 'nodeheal-sa-')), 'kubeconfig');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: local',
      '  cluster:',
      `    server: ${stack.apiserverUrl}`,
      `    certificate-authority: ${stack.caCert}`,
      'users:',
      `- name: ${NODEHEAL_SERVICE_ACCOUNT}`,
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: local',
      '  context: { cluster: local, user: nodeheal }',
      'current-context: local',
      '',
    ].join('\n'),
  );
  return { path, token };
}
