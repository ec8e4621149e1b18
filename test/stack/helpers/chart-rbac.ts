// nodeheal's ClusterRole as the Helm chart ships it, rendered by helm itself (`helm template
// --show-only`), so that tests bind nodeheal's ServiceAccount to exactly the chart's permissions.
import { join } from 'node:path';
import type { V1ClusterRole, V1PolicyRule } from '@kubernetes/client-node';
import { repoRoot } from '../paths.ts';
import { CHART_DIR, helmTemplate } from './helm.ts';

export const CHART_CLUSTERROLE_PATH = join(
  repoRoot,
  'charts',
  'nodeheal',
  'templates',
  'clusterrole.yaml',
);

export interface ChartClusterRoleOptions {
  /** metadata.name: the release's full name (`fullnameOverride`); default `nodeheal`. */
  name?: string;
  /** metadata.labels instead of the chart's own labels. */
  labels?: Record<string, string>;
  /** Rendered with `worker.drain.force=true`, which adds the right to delete pods. */
  forceDrain?: boolean;
}

/**
 * charts/nodeheal/templates/clusterrole.yaml rendered by `helm template` (rbac.create=true) and
 * returned as a V1ClusterRole; `options.name` becomes its name (as `fullnameOverride`).
 */
export function loadChartClusterRole(options: ChartClusterRoleOptions = {}): V1ClusterRole {
  return renderClusterRole('templates/clusterrole.yaml', options, false);
}

/**
 * The optional ClusterRole of the kwok provider (local simulated pool only), from
 * templates/clusterrole-kwok.yaml rendered with kwokProvider.enabled=true (as the demo runs it);
 * named `<name>-kwok-provider`.
 */
export function loadChartKwokClusterRole(options: ChartClusterRoleOptions = {}): V1ClusterRole {
  return renderClusterRole('templates/clusterrole-kwok.yaml', options, true);
}

const rendered = new Map<string, V1ClusterRole>();

function renderClusterRole(
  template: string,
  options: ChartClusterRoleOptions,
  kwok: boolean,
): V1ClusterRole {
  const name = options.name ?? 'nodeheal';
  const force = options.forceDrain === true;
  const key = `${template} ${name} ${force}`;
  let role = rendered.get(key);
  if (!role) {
    const set = ['rbac.create=true', `kwokProvider.enabled=${kwok}`, `worker.drain.force=${force}`];
    const objects = helmTemplate([], set, {
      showOnly: [template],
      // The values the chart requires to render at all; they do not touch the ClusterRoles.
      setString: [
        `fullnameOverride=${name}`,
        'secrets.existingWebhookSecret=chart-rbac',
        'secrets.existingAgentSecret=chart-rbac',
      ],
    });
    const where = `${join(CHART_DIR, template)} (helm template --show-only)`;
    const [only] = objects;
    if (objects.length !== 1 || !only) {
      throw new Error(`${where}: ${objects.length} objects, expected 1`);
    }
    role = only;
    if (role.kind !== 'ClusterRole' || role.apiVersion !== 'rbac.authorization.k8s.io/v1') {
      throw new Error(`${where}: not an rbac.authorization.k8s.io/v1 ClusterRole`);
    }
    rendered.set(key, role);
  }
  const copy = structuredClone(role);
  if (options.labels) copy.metadata = { ...copy.metadata, labels: { ...options.labels } };
  return copy;
}

/** The chart ClusterRole's rules (a copy). */
export function chartClusterRoleRules(): V1PolicyRule[] {
  return structuredClone(loadChartClusterRole().rules ?? []);
}
