// What nodeheal's ServiceAccount, bound to exactly the chart's ClusterRole, must NOT be able to do:
// read Secrets, delete pods other than through the Eviction API, change anything but Nodes.
// Refusals are checked twice: by real calls with nodeheal's token (marked with the probe user
// agent, so the audit check does not count them as nodeheal's own use), and, for every resource
// the apiserver serves, by SubjectAccessReview.
import { execFileSync } from 'node:child_process';
import { AuthorizationV1Api, type V1ClusterRole } from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { rbacProbe } from '../stack/audit.ts';
import { loadChartClusterRole, loadChartKwokClusterRole } from '../stack/helpers/chart-rbac.ts';
import { applyCrds } from '../stack/helpers/kubectl.ts';
import { repoRoot } from '../stack/paths.ts';
import {
  adminClients,
  statusOfCall,
  tokenClients,
  type KubeClients,
} from '../stack/helpers/kube.ts';
import {
  NODEHEAL_NAMESPACE,
  NODEHEAL_SERVICE_ACCOUNT,
  nodehealKubeconfig,
} from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let asNodeheal: KubeClients;

beforeAll(async () => {
  kube = adminClients(stack);
  // The provider CRDs, so that discovery serves every resource nodeheal might be granted.
  applyCrds(stack, [
    join(repoRoot, 'test', 'stack', 'crds', 'cluster-api.yaml'),
    join(repoRoot, 'test', 'stack', 'crds', 'karpenter.yaml'),
  ]);
  const identity = await nodehealKubeconfig(kube, stack);
  asNodeheal = tokenClients(stack, identity.token);
});

interface ApiResource {
  group: string;
  resource: string;
}

/** Every resource (and subresource-free name) the apiserver serves for `verb`, from discovery. */
function resourcesServing(verb: string): ApiResource[] {
  const out = execFileSync(
    stack.kubectl!,
    ['--kubeconfig', stack.kubeconfig!, 'api-resources', `--verbs=${verb}`, '-o', 'name'],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((name) => {
      const dot = name.indexOf('.');
      return dot < 0
        ? { group: '', resource: name }
        : { group: name.slice(dot + 1), resource: name.slice(0, dot) };
    });
}

async function allowed(verb: string, r: ApiResource, subresource?: string): Promise<boolean> {
  const authz = kube.kc.makeApiClient(AuthorizationV1Api);
  const review = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:${NODEHEAL_NAMESPACE}:${NODEHEAL_SERVICE_ACCOUNT}`,
        groups: [
          'system:serviceaccounts',
          `system:serviceaccounts:${NODEHEAL_NAMESPACE}`,
          'system:authenticated',
        ],
        resourceAttributes: { verb, group: r.group, resource: r.resource, subresource },
      },
    },
  });
  return review.status?.allowed === true;
}

const key = (r: ApiResource) => (r.group ? `${r.resource}.${r.group}` : r.resource);

describe("nodeheal's ServiceAccount, bound to the chart's ClusterRole", () => {
  it('cannot read Secrets', async () => {
    expect(
      await statusOfCall(() => asNodeheal.core.listSecretForAllNamespaces({}, rbacProbe)),
    ).toBe(403);
    expect(
      await statusOfCall(() =>
        asNodeheal.core.readNamespacedSecret(
          { name: 'anything', namespace: 'kube-system' },
          rbacProbe,
        ),
      ),
    ).toBe(403);
    expect(await allowed('get', { group: '', resource: 'secrets' })).toBe(false);
    expect(await allowed('watch', { group: '', resource: 'secrets' })).toBe(false);
  });

  it('cannot delete pods except through the Eviction API', async () => {
    expect(
      await statusOfCall(() =>
        asNodeheal.core.deleteNamespacedPod({ name: 'anything', namespace: 'default' }, rbacProbe),
      ),
    ).toBe(403);
    expect(
      await statusOfCall(() =>
        asNodeheal.core.deleteCollectionNamespacedPod({ namespace: 'default' }, rbacProbe),
      ),
    ).toBe(403);
    expect(await allowed('delete', { group: '', resource: 'pods' })).toBe(false);
    expect(await allowed('create', { group: '', resource: 'pods' }, 'eviction')).toBe(true);
  });

  it('can patch Nodes and nothing else; updates nothing', async () => {
    const patchable = [];
    for (const r of resourcesServing('patch'))
      if (await allowed('patch', r)) patchable.push(key(r));
    expect(patchable).toEqual(['nodes']);
    const updatable = [];
    for (const r of resourcesServing('update'))
      if (await allowed('update', r)) updatable.push(key(r));
    expect(updatable).toEqual([]);
    expect(
      await statusOfCall(() =>
        asNodeheal.apps.patchNamespacedDeployment(
          { name: 'anything', namespace: 'default', body: {} },
          rbacProbe,
        ),
      ),
    ).toBe(403);
  });

  it('lists no resource but the few a heal reads', async () => {
    const listable = [];
    for (const r of resourcesServing('list')) if (await allowed('list', r)) listable.push(key(r));
    // Node index and pool health, pods on the node being drained, the provider objects
    // (Machines, NodeClaims) that own a node, and the PDBs of the namespaces of a node's pods
    // (what a heal will disrupt, read per namespace before it acts).
    expect(listable.sort()).toEqual([
      'machines.cluster.x-k8s.io',
      'nodeclaims.karpenter.sh',
      'nodes',
      'poddisruptionbudgets.policy',
      'pods',
    ]);
  });
});

describe("the chart's ClusterRoles (default, kwok provider, force drain), as helm renders them", () => {
  const roles = () => [
    loadChartClusterRole(),
    loadChartKwokClusterRole(),
    loadChartClusterRole({ name: 'nodeheal-force-drain', forceDrain: true }),
  ];

  it('use no wildcards, resourceNames, nonResourceURLs, escalation verbs or aggregation', () => {
    for (const role of roles()) {
      expect(role.aggregationRule).toBeUndefined();
      for (const rule of role.rules ?? []) {
        const words = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs];
        expect(words.filter((w) => w.includes('*'))).toEqual([]);
        expect(rule.nonResourceURLs).toBeUndefined();
        expect(rule.resourceNames).toBeUndefined();
        expect(rule.verbs.filter((v) => ['escalate', 'bind', 'impersonate'].includes(v))).toEqual(
          [],
        );
        expect((rule.resources ?? []).filter((r) => r.startsWith('secrets'))).toEqual([]);
      }
    }
  });

  it('grant deleting pods only when force drain is configured', () => {
    const deletesPods = (role: V1ClusterRole) =>
      (role.rules ?? []).some(
        (r) =>
          r.apiGroups?.includes('') && r.resources?.includes('pods') && r.verbs.includes('delete'),
      );
    const [plain, kwok, force] = roles();
    expect(deletesPods(plain!)).toBe(false);
    expect(deletesPods(kwok!)).toBe(false);
    expect(deletesPods(force!)).toBe(true);
  });
});
