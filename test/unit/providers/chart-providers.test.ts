// The Helm chart follows the provider registry: every registered provider's RBAC needs are
// granted by the chart's ClusterRoles (read from charts/nodeheal/templates/ without Helm), those
// the chart grants only under a value (kwokProvider.enabled: creating Nodes) exactly when their
// definition says so; and the provider names the chart's values schema and docs/chart.md accept
// are the registry's.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  PROVIDER_DEFINITIONS,
  PROVIDER_NAMES,
  type RbacNeed,
} from '../../../src/providers/index.ts';
import { repoRoot } from '../../stack/paths.ts';
import { renderTemplate, valueAt, withValues, type Values } from './chart-template.ts';

const chart = join(repoRoot, 'charts', 'nodeheal');
const read = (...parts: string[]) => readFileSync(join(...parts), 'utf8');
const defaults = parse(read(chart, 'values.yaml')) as Values;

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** The templates that define a ClusterRole. */
const roleTemplates = readdirSync(join(chart, 'templates'))
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => ({ file, text: read(chart, 'templates', file) }))
  .filter(({ text }) => /^kind: ClusterRole$/m.test(text));

/** Every `group resource verb` the chart's ClusterRoles grant with `values` (no resourceNames). */
function grants(values: Values): Set<string> {
  const out = new Set<string>();
  for (const { text } of roleTemplates) {
    for (const doc of renderTemplate(text, values) as { kind?: string; rules?: PolicyRule[] }[]) {
      if (doc.kind !== 'ClusterRole') continue;
      for (const rule of doc.rules ?? []) {
        if (rule.resourceNames?.length) continue;
        for (const group of rule.apiGroups ?? [])
          for (const resource of rule.resources ?? [])
            for (const verb of rule.verbs ?? []) out.add(`${group || 'core'} ${resource} ${verb}`);
      }
    }
  }
  return out;
}

const needs = PROVIDER_DEFINITIONS.flatMap((definition) =>
  definition.rbac.flatMap((need: RbacNeed) =>
    need.verbs.map((verb) => ({
      provider: definition.name,
      grant: `${need.apiGroup || 'core'} ${need.resource} ${verb}`,
      chartValue: need.chartValue,
    })),
  ),
);
const chartValues = [...new Set(needs.flatMap((n) => (n.chartValue ? [n.chartValue] : [])))];

describe('the chart grants what the registered providers call', () => {
  it('reads the ClusterRole templates', () => {
    expect(roleTemplates.map((t) => t.file).sort()).toEqual([
      'clusterrole-kwok.yaml',
      'clusterrole.yaml',
    ]);
  });

  const base = withValues(defaults, ['rbac.create'], true);
  const byDefault = grants(base);

  it.each(needs.filter((n) => !n.chartValue))(
    '$provider: "$grant" is granted with the default values',
    ({ grant }) => {
      expect([...byDefault]).toContain(grant);
    },
  );

  it.each(needs.filter((n) => n.chartValue))(
    '$provider: "$grant" is granted only with $chartValue=true (default false)',
    ({ grant, chartValue }) => {
      expect(valueAt(defaults, chartValue ?? '')).toBe(false);
      expect([...byDefault]).not.toContain(grant);
      expect([...grants(withValues(base, [chartValue ?? ''], true))]).toContain(grant);
    },
  );

  it('grants nothing at all with rbac.create=false, even with the provider values on', () => {
    expect(grants(withValues(defaults, ['rbac.create'], false)).size).toBe(0);
    expect(
      grants(withValues(withValues(defaults, chartValues, true), ['rbac.create'], false)).size,
    ).toBe(0);
  });
});

describe('the chart and docs name the registered providers', () => {
  const schema = JSON.parse(read(chart, 'values.schema.json')) as {
    properties: {
      worker: {
        properties: {
          providers: { items: { properties: { provider: { enum: string[] } } } };
          defaultProvider: { enum: string[] };
        };
      };
    };
  };
  const worker = schema.properties.worker.properties;

  it('values.schema.json: worker.providers[].provider is one of the registry names', () => {
    expect(worker.providers.items.properties.provider.enum).toEqual(PROVIDER_NAMES);
  });

  it('values.schema.json: worker.defaultProvider is empty (none) or a registry name', () => {
    expect(worker.defaultProvider.enum).toEqual(['', ...PROVIDER_NAMES]);
  });

  it('docs/chart.md: the worker.providers row names every provider', () => {
    const row = read(repoRoot, 'docs', 'chart.md')
      .split('\n')
      .find((line) => line.startsWith('| `worker.providers`'));
    expect(row).toBeDefined();
    const named = [...(row ?? '').matchAll(/`([a-z][a-z-]*)`/g)].map((m) => m[1]);
    expect(named.filter((n) => PROVIDER_NAMES.includes(n as never)).sort()).toEqual(
      [...PROVIDER_NAMES].sort(),
    );
  });
});
