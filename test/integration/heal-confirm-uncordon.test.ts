// An alert-only fault whose rule stops firing on cordoned nodes (kube-prometheus-stack's
// KubeNodeReadinessFlapping ends in `and on (node) kube_node_spec_unschedulable == 0`), through a
// real Prometheus and Alertmanager (issue 12). No node condition or taint in the API says whether
// the fault is gone, so a resolution under nodeheal's own cordon is a cure only if the alert stays
// resolved for the settle period once nodeheal uncordons the node; if it fires again, nodeheal
// cordons the node again and the ladder goes on.
//
// The rule below is written for this test to behave as the mixin's does; its signal is a node
// condition of the test's own (`NodeheaTestFlapping`), which nodeheal's catalog does not know, so
// the alert is all nodeheal has to go on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool, poolLabel, readyStatus } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { commandsRun, startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { HARNESS_WEBHOOK_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import {
  nodehealReceiverConfig,
  startPrivateMonitoring,
  type PrivateMonitoring,
} from './support/private-monitoring.ts';

const stack = inject('stack');
const FLAPPING = 'NodeheaTestFlapping';
/** Longer than the alert takes to fire again after an uncordon (2 s scrapes, `for: 10s`). */
const SETTLE_MS = 45_000;
const stuckPool = uniqueName('cfs');
const curedPool = uniqueName('cfc');
let kube: KubeClients;
let harness: Harness | undefined;
let monitoring: PrivateMonitoring | undefined;
const agents: AgentProcess[] = [];
let secretDir = '';
let stuckVictim = '';
let curedVictim = '';

const FLAPPING_RULES = [
  {
    name: 'mixin-like.flapping',
    rules: [
      {
        alert: 'KubeNodeReadinessFlapping',
        // Aggregated by node as the mixin's is: no `condition` label that names what the API
        // shows, so the alert is all there is to go on.
        expr: `max by (node) (kube_node_status_condition{condition="${FLAPPING}",status="true"}) == 1 and on (node) kube_node_spec_unschedulable == 0`,
        for: '10s',
        labels: { severity: 'warning' },
      },
    ],
  },
];

beforeAll(async () => {
  kube = adminClients(stack);
  stuckVictim = (await createNodePool(kube, { name: stuckPool, size: 3 }))[1]!;
  curedVictim = (await createNodePool(kube, { name: curedPool, size: 3 }))[1]!;
  secretDir = mkdtempSync(join(tmpdir(), 'nodeheal-confirm-'));
  const secretFile = join(secretDir, 'secret');
  writeFileSync(secretFile, 'agent-shared-secret-for-nodeheal-tests-0123456789\n');
  // The reboot runs and is recorded; whether it "worked" is the test's to decide (below).
  const reboot = {
    argv: [
      '/bin/sh',
      join(repoRoot, 'test', 'agent-fixtures', 'record-run.sh'),
      '@STATE@',
      'reboot',
    ],
    timeout: '10s',
  };
  agents.push(await startAgentProcess(stuckVictim, secretFile, { reboot }));
  agents.push(await startAgentProcess(curedVictim, secretFile, { reboot }));
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'readiness-flapping': [
        { action: 'cordon', timeout: '30s' },
        { action: 'reboot', timeout: '20s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_ENDPOINTS: JSON.stringify({
        [stuckVictim]: agents[0]!.url,
        [curedVictim]: agents[1]!.url,
      }),
      NODEHEAL_UNCORDON_SETTLE_MS: String(SETTLE_MS),
      NODEHEAL_SAFETY: JSON.stringify({ nodeCooldownMs: 0, stormCooldownMs: 3000 }),
    },
  });
  monitoring = await startPrivateMonitoring({
    ksmUrl: stack.ksmUrl!,
    ruleGroups: FLAPPING_RULES,
    onlyNodes: `(${stuckPool}|${curedPool})-[0-9]+`,
    alertmanagerConfig: nodehealReceiverConfig(
      `${harness.serveUrl}/webhook/alertmanager`,
      HARNESS_WEBHOOK_TOKEN,
    ),
  });
});

afterAll(async () => {
  await monitoring?.stop();
  await harness?.stop();
  for (const a of agents) await a.stop();
  if (kube) {
    await deleteNodePool(kube, stuckPool);
    await deleteNodePool(kube, curedPool);
  }
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

function story(heal: HealRecord): string {
  return JSON.stringify(heal.transitions.map((t) => `${t.kind}: ${t.detail}`));
}

describe('an alert-only fault that resolved under nodeheal’s own cordon', () => {
  it('is confirmed with the node uncordoned: an alert that fires again re-cordons the node and the ladder goes on to replace it; one that stays resolved is a cure, and the node is left schedulable', async () => {
    await setNodeCondition(kube, stuckVictim, FLAPPING, 'True', 'TestFlapping');
    await setNodeCondition(kube, curedVictim, FLAPPING, 'True', 'TestFlapping');
    // The cured node's reboot works: once it has run, the signal is gone for good.
    await eventually(
      `the reboot on ${curedVictim}`,
      () => commandsRun(agents[1]!).includes('reboot'),
      180_000,
    );
    await setNodeCondition(kube, curedVictim, FLAPPING, 'False', 'TestSteady');

    const [stuck, cured] = await Promise.all([
      harness!.finishedHeal(stuckVictim, 300_000),
      harness!.finishedHeal(curedVictim, 300_000),
    ]);

    // Both resolved under nodeheal's cordon after the reboot, and both were confirmed uncordoned.
    for (const heal of [stuck, cured]) {
      const kinds = heal.transitions.map((t) => t.kind);
      expect(heal.fault, story(heal)).toBe('readiness-flapping');
      expect(kinds, story(heal)).toContain('confirming');
      expect(heal.status, story(heal)).toBe('healed');
    }

    // The stuck node: the alert fired again once uncordoned, so the reboot was no cure; the
    // ladder went on and replaced the node, in the one heal.
    expect(commandsRun(agents[0]!)).toEqual(['reboot']);
    expect(stuck.ladder[stuck.stepIndex]!.action, story(stuck)).toBe('replace');
    expect(stuck.outcomeReason, story(stuck)).toMatch(/replaced, capacity back/);
    expect((await harness!.healsFor(stuckVictim)).map((h) => h.id)).toEqual([stuck.id]);
    const rebootEnd = stuck.transitions.find((t) => t.kind === 'escalated');
    expect(rebootEnd?.detail, story(stuck)).toMatch(
      /reboot did not clear readiness-flapping: its alerts fired again .* after nodeheal uncordoned the node/,
    );
    const replacedPool = (await kube.core.listNode({ labelSelector: `${poolLabel}=${stuckPool}` }))
      .items;
    expect(replacedPool.map((n) => n.metadata!.name)).not.toContain(stuckVictim);
    expect(replacedPool.filter((n) => readyStatus(n) === 'True')).toHaveLength(3);

    // The cured node: healed by the reboot, kept, schedulable, and the page says why.
    expect(commandsRun(agents[1]!)).toEqual(['reboot']);
    expect(cured.ladder[cured.stepIndex]!.action, story(cured)).toBe('reboot');
    expect(cured.outcomeReason, story(cured)).toMatch(
      /reboot worked: .*stayed resolved for 45s after nodeheal uncordoned the node/,
    );
    const node = await kube.core.readNode({ name: curedVictim });
    expect(node.spec?.unschedulable ?? false).toBe(false);
    expect((await harness!.healsFor(curedVictim)).map((h) => h.id)).toEqual([cured.id]);
    const page = await (
      await fetch(`${harness!.serveUrl}/heals/${cured.id}`, { headers: { accept: 'text/html' } })
    ).text();
    expect(page).toContain('stayed resolved for 45s after nodeheal uncordoned the node');
    const started = (await nodehealEvents(kube, curedVictim)).filter(
      (e) => e.reason === 'HealStarted',
    );
    expect(started).toHaveLength(1);
  }, 420_000);
});
