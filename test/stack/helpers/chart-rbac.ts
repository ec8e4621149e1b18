// nodeheal's ClusterRole as the Helm chart ships it, loaded without Helm (Helm is not available
// here), so that tests bind nodeheal's ServiceAccount to exactly the chart's permissions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ClusterRole, V1PolicyRule } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { repoRoot } from '../paths.ts';

export const CHART_CLUSTERROLE_PATH = join(
  repoRoot,
  'charts',
  'nodeheal',
  'templates',
  'clusterrole.yaml',
);

export interface ChartClusterRoleOptions {
  /** metadata.name, standing in for `{{ include "nodeheal.fullname" . }}`; default `nodeheal`. */
  name?: string;
  /** Labels standing in for `{{- include "nodeheal.labels" . | nindent 4 }}`. */
  labels?: Record<string, string>;
}

/**
 * Reads charts/nodeheal/templates/clusterrole.yaml and returns it as a V1ClusterRole.
 *
 * The template is plain YAML except for exactly two Helm expressions, which are replaced:
 * - `{{ include "nodeheal.fullname" . }}` (metadata.name) → `options.name` (`nodeheal`);
 * - the line `{{- include "nodeheal.labels" . | nindent 4 }}` (metadata.labels) → the
 *   `options.labels` (default `app.kubernetes.io/name: nodeheal`), 4 spaces in.
 * Any other `{{ ... }}` in the file throws: the rules themselves must never be templated, or
 * what the tests grant would drift from what the chart grants.
 */
export function loadChartClusterRole(options: ChartClusterRoleOptions = {}): V1ClusterRole {
  return loadClusterRoleTemplate(CHART_CLUSTERROLE_PATH, options);
}

/**
 * The optional ClusterRole of the kwok provider (local simulated pool only), from
 * templates/clusterrole-kwok.yaml: as `loadChartClusterRole`, and the `{{- if ... }}` /
 * `{{- end }}` guard lines around it are dropped (the tests enable it, as the demo does).
 */
export function loadChartKwokClusterRole(options: ChartClusterRoleOptions = {}): V1ClusterRole {
  return loadClusterRoleTemplate(
    join(repoRoot, 'charts', 'nodeheal', 'templates', 'clusterrole-kwok.yaml'),
    { ...options, name: `${options.name ?? 'nodeheal'}-kwok-provider` },
    true,
  );
}

function loadClusterRoleTemplate(
  path: string,
  options: ChartClusterRoleOptions,
  guarded = false,
): V1ClusterRole {
  const CHART_CLUSTERROLE_PATH = path;
  const name = options.name ?? 'nodeheal';
  const labels = options.labels ?? { 'app.kubernetes.io/name': 'nodeheal' };
  let text = readFileSync(CHART_CLUSTERROLE_PATH, 'utf8');
  if (guarded) {
    text = text
      .replace(/^\{\{- if \.Values\.kwokProvider\.enabled \}\}$/m, '')
      .replace(/^\{\{- end \}\}$/m, '');
  }
  text = text.replace(
    /name: \{\{ include "nodeheal\.fullname" \. \}\}(-kwok-provider)?/g,
    `name: ${JSON.stringify(name)}`,
  );
  text = text.replace(
    /^[ \t]*\{\{- include "nodeheal\.labels" \. \| nindent 4 \}\}[ \t]*$/m,
    Object.entries(labels)
      .map(([key, value]) => `    ${JSON.stringify(key)}: ${JSON.stringify(value)}`)
      .join('\n'),
  );
  const leftover = /\{\{.*?\}\}/.exec(text);
  if (leftover) {
    throw new Error(
      `${CHART_CLUSTERROLE_PATH}: unexpected Helm expression ${leftover[0]}; the ClusterRole may ` +
        'template only its metadata name and labels',
    );
  }
  const role = parse(text) as V1ClusterRole;
  if (role.kind !== 'ClusterRole' || role.apiVersion !== 'rbac.authorization.k8s.io/v1') {
    throw new Error(`${CHART_CLUSTERROLE_PATH}: not an rbac.authorization.k8s.io/v1 ClusterRole`);
  }
  return role;
}

/** The chart ClusterRole's rules (a copy). */
export function chartClusterRoleRules(): V1PolicyRule[] {
  return structuredClone(loadChartClusterRole().rules ?? []);
}
