// Runs after the test suite (npm test): the chart's ClusterRole must grant exactly what nodeheal's
// ServiceAccounts used in the suite, as the apiserver's audit log recorded it, plus the named
// grants of rbac-unreached.ts (paths no test reaches). A permission granted and never used is
// removed from the chart, not kept "just in case"; a request refused means the chart lacks it.
import {
  grantKey,
  RBAC_PROBE_USER_AGENT,
  readAuditLog,
  latestSuiteAuditLog,
  type Grant,
} from './audit.ts';
import { loadChartClusterRole, loadChartKwokClusterRole } from './helpers/chart-rbac.ts';
import { unreachedGrants } from './rbac-unreached.ts';
import type { V1ClusterRole } from '@kubernetes/client-node';

/** Every (verb, group, resource) a ClusterRole grants; wildcards are refused outright. */
export function grantsOf(role: V1ClusterRole): Grant[] {
  const grants: Grant[] = [];
  for (const rule of role.rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) {
          if ([group, resource, verb].includes('*')) {
            throw new Error(`${role.metadata?.name}: wildcard in ${JSON.stringify(rule)}`);
          }
          grants.push({ verb, group, resource });
        }
      }
    }
  }
  return grants;
}

export interface RbacComparison {
  used: string[];
  refused: string[];
  grantedUnused: string[];
  exceptionsUsed: string[];
  exceptionsNotGranted: string[];
}

export function compareRbac(auditLog: string): RbacComparison {
  const requests = readAuditLog(auditLog).filter((r) => r.userAgent !== RBAC_PROBE_USER_AGENT);
  const used = new Set(requests.filter((r) => r.decision === 'allow').map(grantKey));
  const refused = [
    ...new Set(
      requests.filter((r) => r.decision !== 'allow').map((r) => `${grantKey(r)} (${r.uri})`),
    ),
  ];
  // Every ClusterRole the chart can render, as the tests bind them: the default one, the kwok
  // provider's (the simulated pool) and the default one with worker.drain.force.
  const roles = [
    loadChartClusterRole(),
    loadChartKwokClusterRole(),
    loadChartClusterRole({ name: 'nodeheal-force-drain', forceDrain: true }),
  ];
  const granted = new Set(roles.flatMap(grantsOf).map(grantKey));
  const unreached = new Set(unreachedGrants.map((g) => grantKey(g)));
  return {
    used: [...used].sort(),
    refused,
    grantedUnused: [...granted].filter((g) => !used.has(g) && !unreached.has(g)).sort(),
    exceptionsUsed: [...unreached].filter((g) => used.has(g)),
    exceptionsNotGranted: [...unreached].filter((g) => !granted.has(g)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const auditLog = latestSuiteAuditLog();
  if (!auditLog) {
    console.error('check-rbac-usage: no audit log: run the stack tests first (npm test does)');
    process.exit(1);
  }
  const result = compareRbac(auditLog);
  const problems: string[] = [];
  if (result.used.length === 0) {
    problems.push(
      `no request of nodeheal's ServiceAccounts in ${auditLog}: did the stack tests run?`,
    );
  }
  for (const r of result.refused) problems.push(`refused to nodeheal (the chart lacks it): ${r}`);
  for (const g of result.grantedUnused) {
    problems.push(
      `granted by the chart but never used in the suite: ${g} (remove it, or name it in ` +
        'test/stack/rbac-unreached.ts with the reason no test reaches it)',
    );
  }
  for (const g of result.exceptionsUsed) {
    problems.push(
      `listed as unreached but used in the suite: ${g} (drop it from rbac-unreached.ts)`,
    );
  }
  for (const g of result.exceptionsNotGranted) {
    problems.push(`listed as unreached but not granted by the chart: ${g}`);
  }
  if (problems.length > 0) {
    console.error(`check-rbac-usage: the chart's ClusterRole differs from what nodeheal used:`);
    for (const p of problems) console.error(`  ${p}`);
    console.error(`  used: ${result.used.join(', ')}`);
    process.exit(1);
  }
  console.log(
    `check-rbac-usage: the chart's ClusterRole grants exactly the ${result.used.length} ` +
      `permissions nodeheal used plus ${String(unreachedGrants.length)} named exceptions`,
  );
}
