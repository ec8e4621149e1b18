// nodeheal's own identity in the test cluster: a ServiceAccount bound to exactly the ClusterRole
// its chart ships (plus the chart's optional kwok-provider role, as the local demo enables), and
// a kubeconfig with a TokenRequest token for it. Heal tests run serve and worker with this, not
// as admin, so a missing or excess permission in the chart shows up as a failing test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, KubeConfig, type V1ClusterRole } from '@kubernetes/client-node';
import { loadChartClusterRole, loadChartKwokClusterRole } from '../../stack/helpers/chart-rbac.ts';
import { statusOf, type KubeClients } from '../../stack/helpers/kube.ts';
import { eventually } from '../../stack/helpers/poll.ts';
import type { StackInfo } from '../../stack/stack.ts';

export const NODEHEAL_NAMESPACE = 'nodeheal-system';
export const NODEHEAL_SERVICE_ACCOUNT = 'nodeheal';
export const NODEHEAL_FORCE_DRAIN_ACCOUNT = 'nodeheal-force-drain';

async function ignoreConflict(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (statusOf(error) !== 409) throw error;
  }
}

async function applyClusterRole(
  kube: KubeClients,
  role: V1ClusterRole,
  account: string,
): Promise<void> {
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
        subjects: [{ kind: 'ServiceAccount', name: account, namespace: NODEHEAL_NAMESPACE }],
      },
    }),
  );
}

/**
 * Waits until the account is allowed everything `role` grants. The apiserver authorizes from an
 * informer cache of roles and bindings: a grant just written can still be refused for a moment,
 * longer on a loaded machine. Asked as admin (SubjectAccessReview), so that nothing is sent with
 * the account's token that the audit check would count as nodeheal's own use.
 */
async function untilGranted(
  kube: KubeClients,
  role: V1ClusterRole,
  account: string,
): Promise<void> {
  const authz = kube.kc.makeApiClient(AuthorizationV1Api);
  const asks = (role.rules ?? []).flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((path) =>
        rule.verbs.map((verb) => {
          const [resource, subresource] = path.split('/');
          return { verb, group, resource, subresource };
        }),
      ),
    ),
  );
  await eventually(
    `${account} allowed what ${role.metadata?.name} grants`,
    async () => {
      for (const ask of asks) {
        const review = await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${NODEHEAL_NAMESPACE}:${account}`,
              groups: [
                'system:serviceaccounts',
                `system:serviceaccounts:${NODEHEAL_NAMESPACE}`,
                'system:authenticated',
              ],
              resourceAttributes: ask,
            },
          },
        });
        // Thrown, so that a timeout names the grant still refused.
        if (review.status?.allowed !== true) throw new Error(`refused ${JSON.stringify(ask)}`);
      }
      return true;
    },
    30_000,
  );
}

export interface NodehealIdentity {
  /** A kubeconfig file that authenticates as the ServiceAccount. */
  path: string;
  token: string;
  /** Clients for nodeheal's own code (drainer, providers, node ops) under that identity. */
  kc: KubeConfig;
}

/**
 * Creates (idempotently) nodeheal's ServiceAccount and chart RBAC; returns a kubeconfig for it.
 * `forceDrain` gives a second account, bound to the ClusterRole the chart renders with
 * `worker.drain.force=true` (the only install that may delete pods).
 */
export async function nodehealKubeconfig(
  kube: KubeClients,
  stack: StackInfo,
  options: { forceDrain?: boolean } = {},
): Promise<NodehealIdentity> {
  const account = options.forceDrain ? NODEHEAL_FORCE_DRAIN_ACCOUNT : NODEHEAL_SERVICE_ACCOUNT;
  await ignoreConflict(() =>
    kube.core.createNamespace({ body: { metadata: { name: NODEHEAL_NAMESPACE } } }),
  );
  await ignoreConflict(() =>
    kube.core.createNamespacedServiceAccount({
      namespace: NODEHEAL_NAMESPACE,
      body: { metadata: { name: account } },
    }),
  );
  const forceDrain = options.forceDrain === true;
  // Named after the namespace too: the chart test installs a release named `nodeheal`, whose
  // cluster-wide ClusterRoles must not collide with these.
  const roleName = `${NODEHEAL_NAMESPACE}-${account}`;
  const roles = [
    loadChartClusterRole({ name: roleName, forceDrain }),
    loadChartKwokClusterRole({ name: roleName }),
  ];
  for (const role of roles) await applyClusterRole(kube, role, account);
  for (const role of roles) await untilGranted(kube, role, account);
  const request = await kube.core.createNamespacedServiceAccountToken({
    name: account,
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
      `- name: ${account}`,
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: local',
      `  context: { cluster: local, user: ${account} }`,
      'current-context: local',
      '',
    ].join('\n'),
  );
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return { path, token, kc };
}
