// One heal per node (issue 10 item 2): a kubelet that stops raises NodeUnreachable (its Ready
// condition goes Unknown) and NodeKubeletLeaseExpired (its node Lease is no longer renewed)
// through a real Prometheus and Alertmanager. The second fault to come due is recorded on the
// heal of the first instead of starting a heal of its own: one heal, one HealStarted Event.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { resumeHeartbeat, stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool, waitNodeReady } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { HARNESS_WEBHOOK_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import {
  nodehealReceiverConfig,
  startPrivateMonitoring,
  type PrivateMonitoring,
} from './support/private-monitoring.ts';
import { inspectQueue, type QueueInspector } from './support/queue-inspector.ts';

const stack = inject('stack');
const pool = uniqueName('one');
let kube: KubeClients;
let harness: Harness | undefined;
let monitoring: PrivateMonitoring | undefined;
let agent: AgentProcess | undefined;
let queue: QueueInspector | undefined;
let secretDir = '';
let victim = '';

beforeAll(async () => {
  kube = adminClients(stack);
  const nodes = await createNodePool(kube, { name: pool, size: 3 });
  victim = nodes[1]!;
  secretDir = mkdtempSync(join(tmpdir(), 'nodeheal-one-per-node-'));
  const secretFile = join(secretDir, 'secret');
  writeFileSync(secretFile, 'agent-shared-secret-for-nodeheal-tests-0123456789\n');
  // The remedy runs (and is recorded) but does not bring the kubelet back: the test does, once
  // both faults are due, so that the second one arrives while the first one's heal runs.
  agent = await startAgentProcess(victim, secretFile, {
    'restart-kubelet': {
      argv: [
        '/bin/sh',
        join(repoRoot, 'test', 'agent-fixtures', 'record-run.sh'),
        '@STATE@',
        'restart-kubelet',
      ],
      timeout: '10s',
    },
  });
  const remedy = [{ action: 'restart-kubelet', timeout: '5m' }];
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { 'node-not-ready': remedy, 'kubelet-down': remedy },
    workerEnv: {
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_ENDPOINTS: JSON.stringify({ [victim]: agent.url }),
    },
  });
  queue = inspectQueue(harness.redisUrl);
  // nodeheal's own alert rules, as shipped, over this pool's nodes only; Alertmanager routes them
  // to this nodeheal as a production receiver would (one notification group per alert and node).
  // The shipped rules, with one threshold scaled to the stack: NodeKubeletLeaseExpired waits 40 s
  // without a renewal (four of a real kubelet's 10 s renewals); the stack's KWOK renews every 2 s
  // (an 8 s lease), so 12 s here is the same margin, and the test 28 s shorter.
  const shipped = readFileSync(
    join(repoRoot, 'alert-rules', 'prometheus', 'node-health.yaml'),
    'utf8',
  );
  const scaled = shipped.replace(
    'time() - kube_lease_renew_time{namespace="kube-node-lease"} > 40',
    'time() - kube_lease_renew_time{namespace="kube-node-lease"} > 12',
  );
  if (scaled === shipped)
    throw new Error('the lease rule of node-health.yaml changed: update this test');
  const rules = parse(scaled) as { groups: unknown[] };
  monitoring = await startPrivateMonitoring({
    ksmUrl: stack.ksmUrl!,
    ruleGroups: rules.groups,
    onlyNodes: `${pool}-[0-9]+`,
    alertmanagerConfig: nodehealReceiverConfig(
      `${harness.serveUrl}/webhook/alertmanager`,
      HARNESS_WEBHOOK_TOKEN,
    ),
  });
});

afterAll(async () => {
  await monitoring?.stop();
  await queue?.close();
  await harness?.stop();
  await agent?.stop();
  if (kube) await deleteNodePool(kube, pool);
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

/** The alerts Alertmanager holds for the victim, firing ones only. */
async function activeAlerts(): Promise<string[]> {
  const url = `${monitoring!.alertmanagerUrl}/api/v2/alerts?active=true&silenced=false&filter=${encodeURIComponent(`node="${victim}"`)}`;
  const alerts = (await (await fetch(url)).json()) as { labels: { alertname: string } }[];
  return alerts.map((a) => a.labels.alertname).sort();
}

describe('one heal per node', () => {
  it('a stopped kubelet raises two faults through Prometheus and Alertmanager: one heal, one HealStarted', async () => {
    const h = harness!;
    await stopHeartbeat(kube, victim);

    // Both faults come due; the second is recorded on the heal of the first.
    const heal = await eventually(
      `a heal of ${victim} that both faults joined`,
      async () => {
        const heals = await h.healsFor(victim);
        return heals.find((r) => r.joined.length > 0);
      },
      170_000,
      1000,
    );
    expect(await activeAlerts()).toEqual(['NodeKubeletLeaseExpired', 'NodeUnreachable']);
    expect(heal.status).toBe('running');
    expect([heal.fault, ...heal.joined.map((j) => j.fault)].sort()).toEqual([
      'kubelet-down',
      'node-not-ready',
    ]);
    const second = heal.joined[0]!;
    expect(heal.transitions.map((t) => t.kind)).toContain('fault-joined');
    // The same ladder (restart-kubelet) is no more drastic: the heal keeps its own.
    expect(heal.ladderFault).toBeNull();

    // Shown on the heal's status page, JSON and HTML.
    const view = (await (await fetch(`${h.serveUrl}/heals/${heal.id}`)).json()) as HealRecord;
    expect(view.joined.map((j) => j.fault)).toEqual([second.fault]);
    const page = await (
      await fetch(`${h.serveUrl}/heals/${heal.id}`, { headers: { accept: 'text/html' } })
    ).text();
    expect(page).toContain('also due (recorded on this heal)');
    expect(page).toContain(second.alertname);

    // The kubelet comes back: the heal ends healed, both alerts resolve, and the job of the
    // joined fault ends without a heal of its own.
    await resumeHeartbeat(kube, victim);
    await waitNodeReady(kube, victim, 'True', 60_000);
    const ended = await h.finishedHeal(victim, 60_000);
    expect(ended.id).toBe(heal.id);
    expect(ended.status).toBe('healed');
    await eventually(
      'both alerts resolved',
      async () => (await activeAlerts()).length === 0,
      60_000,
    );
    await eventually(
      `no job left for ${second.key}`,
      async () => {
        const jobs = await queue!.jobsFor(second.key);
        return jobs.every((j) => j.state === 'completed' || j.state === 'failed')
          ? jobs
          : undefined;
      },
      60_000,
      500,
    );

    const heals = await h.healsFor(victim);
    expect(heals.map((r) => r.id)).toEqual([heal.id]);
    const started = (await nodehealEvents(kube, victim)).filter((e) => e.reason === 'HealStarted');
    expect(started).toHaveLength(1);
    expect(started[0]!.message).toContain(heal.id);
    // The remedy ran once: for the heal, not again for the joined fault.
    expect(readFileSync(join(agent!.stateDir, 'runs.log'), 'utf8').trim().split('\n')).toEqual([
      'restart-kubelet',
    ]);
  });
});
