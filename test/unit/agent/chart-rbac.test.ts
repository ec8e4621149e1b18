// The chart's ClusterRole grants exactly what nodeheal needs: no Secrets, no wildcards, nothing
// beyond the list in the brief, and it loads without Helm for the integration tests.
import { describe, expect, it } from 'vitest';
import { loadChartClusterRole } from '../../stack/helpers/chart-rbac.ts';

/** "group resource" → verbs, the whole grant (DESIGN.md parts: actions, providers, kube). */
const EXPECTED: Record<string, string[]> = {
  ' nodes': ['delete', 'get', 'list', 'patch', 'watch'],
  ' nodes/status': ['get'],
  ' pods': ['delete', 'get', 'list'],
  ' pods/eviction': ['create'],
  ' events': ['create', 'patch'],
  'events.k8s.io events': ['create', 'patch'],
  'policy poddisruptionbudgets': ['get', 'list'],
  'cluster.x-k8s.io machines': ['delete', 'get', 'list'],
  'karpenter.sh nodeclaims': ['delete', 'get', 'list'],
  'coordination.k8s.io leases': ['get', 'list'],
};

function grants(): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const rule of loadChartClusterRole().rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group} ${resource}`;
        out[key] ??= new Set();
        for (const verb of rule.verbs) out[key].add(verb);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

describe('chart ClusterRole (charts/nodeheal/templates/clusterrole.yaml)', () => {
  it('loads without Helm, with the metadata expressions replaced', () => {
    const role = loadChartClusterRole({ name: 'nodeheal-test', labels: { team: 'sre' } });
    expect(role.kind).toBe('ClusterRole');
    expect(role.metadata?.name).toBe('nodeheal-test');
    expect(role.metadata?.labels).toEqual({ team: 'sre' });
    expect(loadChartClusterRole().metadata?.name).toBe('nodeheal');
  });

  it('grants exactly the permissions nodeheal needs', () => {
    expect(grants()).toEqual(EXPECTED);
  });

  it('grants nothing on Secrets, in any group', () => {
    for (const rule of loadChartClusterRole().rules ?? []) {
      for (const resource of rule.resources ?? []) expect(resource).not.toMatch(/^secrets/);
    }
  });

  it('uses no wildcards, resourceNames, nonResourceURLs or escalation verbs', () => {
    for (const rule of loadChartClusterRole().rules ?? []) {
      expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]).not.toContain(
        '*',
      );
      expect(rule.resources?.some((r) => r.includes('*'))).toBe(false);
      expect(rule.nonResourceURLs).toBeUndefined();
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['escalate']));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['bind']));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['impersonate']));
    }
  });

  it('has no aggregation rule that could widen it', () => {
    expect(loadChartClusterRole().aggregationRule).toBeUndefined();
  });
});
