// The Helm chart without Helm: copies under charts/nodeheal/files/ equal their sources, the
// default agent catalog passes the agent's own validation, the dashboard shows DESIGN's metrics,
// and every template's actions are balanced.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { HOST_COMMANDS } from '../../../src/actions/interfaces.ts';
import { formatAgentCatalogErrors, loadAgentCatalog } from '../../../src/agent/index.ts';
import { repoRoot } from '../../stack/paths.ts';

const chart = join(repoRoot, 'charts', 'nodeheal');
const read = (...parts: string[]) => readFileSync(join(...parts), 'utf8');

describe('charts/nodeheal/files', () => {
  it.each([
    ['node-health.yaml', join('alert-rules', 'prometheus', 'node-health.yaml')],
    ['redis.conf', join('queue', 'redis.conf')],
  ])('%s is an exact copy of %s (fix: cp the source over it)', (copy, source) => {
    expect(read(chart, 'files', copy)).toBe(read(repoRoot, source));
  });

  it('the dashboard is valid JSON showing every DESIGN.md metric', () => {
    const dashboard = JSON.parse(read(chart, 'files', 'dashboard.json')) as {
      uid: string;
      panels: { targets: { expr: string }[] }[];
    };
    expect(dashboard.uid).toBe('nodeheal');
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const metric of [
      'nodeheal_alerts_received_total',
      'nodeheal_alerts_ignored_total',
      'nodeheal_heals_started_total',
      'nodeheal_heals_finished_total',
      'nodeheal_remedy_attempts_total',
      'nodeheal_heal_duration_seconds',
      'nodeheal_time_to_heal_seconds',
      'nodeheal_safety_blocked_total',
      'nodeheal_storm_active',
      'nodeheal_queue_jobs',
    ]) {
      expect(exprs).toContain(metric);
    }
  });
});

describe('charts/nodeheal/values.yaml', () => {
  const values = parse(read(chart, 'values.yaml')) as {
    agent: { catalog: unknown; port: number; healthPort: number; tolerations: unknown };
    serve: { replicas: number };
    worker: { replicas: number };
  };

  it('ships an agent catalog the agent accepts, covering every host command', () => {
    const result = loadAgentCatalog(stringify(values.agent.catalog), 'values.yaml agent.catalog');
    if (!result.ok) throw new Error(formatAgentCatalogErrors('values.yaml', result.errors));
    expect([...result.catalog.commands.keys()].sort()).toEqual([...HOST_COMMANDS].sort());
  });

  it('runs two serve and two worker replicas and tolerates every taint on the agent', () => {
    expect(values.serve.replicas).toBe(2);
    expect(values.worker.replicas).toBe(2);
    expect(values.agent.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(values.agent.port).not.toBe(values.agent.healthPort);
  });
});

describe('charts/nodeheal/templates', () => {
  const templates = readdirSync(join(chart, 'templates')).filter((f) =>
    /\.(yaml|tpl|txt)$/.test(f),
  );

  it.each(templates)('%s has balanced template actions and blocks', (file) => {
    const text = read(chart, 'templates', file);
    expect(text.split('{{').length, 'opening vs closing braces').toBe(text.split('}}').length);
    const actions = [...text.matchAll(/\{\{-?\s*(\/\*[\s\S]*?\*\/|[\s\S]*?)\s*-?\}\}/g)].map(
      (m) => m[1] ?? '',
    );
    let depth = 0;
    for (const action of actions) {
      if (/^(if|with|range|define)\b/.test(action)) depth += 1;
      if (/^end\b/.test(action)) depth -= 1;
      expect(depth, `an {{ end }} without its block in ${file}`).toBeGreaterThanOrEqual(0);
    }
    expect(depth, `unclosed blocks in ${file}`).toBe(0);
  });

  it('the agent DaemonSet is host-network, host-PID, privileged, node-critical and tolerant', () => {
    const text = read(chart, 'templates', 'agent-daemonset.yaml');
    for (const line of [
      'hostNetwork: true',
      'hostPID: true',
      'privileged: true',
      'priorityClassName: system-node-critical',
      'automountServiceAccountToken: false',
      'args: [agent]',
      'host: 127.0.0.1',
    ]) {
      expect(text).toContain(line);
    }
  });

  it('the agent mounts only the agent secret: never the webhook or admin token', () => {
    const text = read(chart, 'templates', 'agent-daemonset.yaml');
    const secretNames = [...text.matchAll(/secretName: (.*)/g)].map((m) => m[1]);
    expect(secretNames).toEqual(['{{ include "nodeheal.agentSecretName" . }}']);
    expect(text).not.toMatch(/NODEHEAL_WEBHOOK|NODEHEAL_ADMIN|secretKeyRef/);
  });
});
