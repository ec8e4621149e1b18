// Time cost, learned (issue 15): every step attempt's duration is recorded per (pool, fault,
// action), and a fault with `order: fastest` runs its expert remedies in the order of least
// expected time to heal once each has 3 durations in the pool. Two faults share one ladder,
// restart-kubelet (slow: the agent's command sleeps 6 s, and it does not clear the fault) then
// reboot (fast: it clears the fault) then replace; both have the same seeded history in the pool
// (through the store's own update, as the worker writes it). Only the fault that opted in runs
// reboot first; the other keeps the written order and pays for the slow remedy. Each real heal
// adds its own durations to the history.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { durationKey, recordDurations, type DurationTable } from '../../src/heal/index.ts';
import { readStepDurations, updateStepDurations } from '../../src/store/index.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { commandsRun, startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { shortDebounceCatalog } from './support/nodeheal-process.ts';

const stack = inject('stack');
const FASTEST = 'kernel-deadlock';
const WRITTEN = 'readonly-filesystem';
// restart-kubelet acts for 6 s and then waits out its 8 s: ~14 s; reboot clears the fault at once.
const LADDER = [
  { action: 'restart-kubelet', timeout: '8s' },
  { action: 'reboot', timeout: '10s' },
  { action: 'replace', timeout: '90s' },
];

let kube: KubeClients;
let harness: Harness;
let pool = '';
let fastNode = '';
let writtenNode = '';
let dir: string;
const agents: AgentProcess[] = [];

/** The worker's catalog: both ladders as above, and `order: fastest` on one fault only. */
function workerCatalog(): string {
  const doc = parseDocument(shortDebounceCatalog('1s'));
  const faults = (doc.toJS() as { faults: { name: string }[] }).faults;
  for (const name of [FASTEST, WRITTEN]) {
    const index = faults.findIndex((f) => f.name === name);
    doc.setIn(['faults', index, 'ladder'], doc.createNode(LADDER));
    if (name === FASTEST) doc.setIn(['faults', index, 'order'], 'fastest');
  }
  return doc.toString();
}

async function startAgent(node: string, condition: string): Promise<AgentProcess> {
  const agent = await startAgentProcess(node, join(dir, 'secret'), {
    'restart-kubelet': {
      argv: [
        '/bin/sh',
        join(repoRoot, 'test', 'agent-fixtures', 'record-run.sh'),
        '@STATE@',
        'slow-restart-kubelet',
        '6',
      ],
      timeout: '20s',
    },
    reboot: {
      argv: ['/bin/sh', join(repoRoot, 'test', 'agent-fixtures', 'clear-condition.sh'), '@STATE@'],
      timeout: '20s',
      env: {
        KUBECTL: stack.kubectl!,
        KUBECONFIG: stack.kubeconfig!,
        NODE: node,
        CONDITION: condition,
      },
    },
  });
  agents.push(agent);
  return agent;
}

/** Three earlier attempts of each remedy in this pool, for both faults: 14 s and 2 s. */
function seeded(table: DurationTable): DurationTable {
  const entry = (fault: string, action: 'restart-kubelet' | 'reboot', ms: number) => [
    { pool, fault, action, ms },
    { pool, fault, action, ms },
    { pool, fault, action, ms },
  ];
  return recordDurations(table, [
    ...entry(FASTEST, 'restart-kubelet', 14_000),
    ...entry(FASTEST, 'reboot', 2000),
    ...entry(WRITTEN, 'restart-kubelet', 14_000),
    ...entry(WRITTEN, 'reboot', 2000),
  ]);
}

beforeAll(async () => {
  kube = adminClients(stack);
  pool = uniqueName('fo');
  const nodes = await createNodePool(kube, { name: pool, size: 3 });
  fastNode = nodes[0]!;
  writtenNode = nodes[1]!;
  dir = mkdtempSync(join(tmpdir(), 'nodeheal-fastest-'));
  writeFileSync(join(dir, 'secret'), 'agent-shared-secret-for-nodeheal-tests-0123456789\n');
  writeFileSync(join(dir, 'remedies.yaml'), workerCatalog());
  const fastAgent = await startAgent(fastNode, 'KernelDeadlock');
  const writtenAgent = await startAgent(writtenNode, 'ReadonlyFilesystem');
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: { [FASTEST]: LADDER, [WRITTEN]: LADDER },
    workerEnv: {
      NODEHEAL_RULES: join(dir, 'remedies.yaml'),
      NODEHEAL_AGENT_SECRET_FILE: join(dir, 'secret'),
      NODEHEAL_AGENT_ENDPOINTS: JSON.stringify({
        [fastNode]: fastAgent.url,
        [writtenNode]: writtenAgent.url,
      }),
    },
  });
  await updateStepDurations(harness.redis, seeded);
});

afterAll(async () => {
  await harness?.stop();
  for (const a of agents) await a.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('order: fastest, learned from recorded step durations', () => {
  it('runs the fast remedy first for the fault that opted in, and records its duration', async () => {
    await setNodeCondition(kube, fastNode, 'KernelDeadlock', 'True');
    await harness.fire(fastNode, 'NodeKernelDeadlock', {
      condition: 'KernelDeadlock',
      status: 'true',
    });
    const heal = await harness.finishedHeal(fastNode, 60_000);
    const details = JSON.stringify(
      heal.transitions.map((t) => t.detail),
      null,
      1,
    );
    expect(heal.status, details).toBe('healed');
    // The record's copy of the ladder was reordered at the start, and says why.
    expect(heal.ladder.map((s) => s.action)).toEqual(['reboot', 'restart-kubelet', 'replace']);
    expect(heal.ladder.find((s) => s.action === 'restart-kubelet')?.timeoutMs).toBe(8000);
    expect(heal.ladderOrder).toMatch(
      /^order: fastest: reboot \(took 2s .* before restart-kubelet \(took 14s /,
    );
    expect(heal.transitions[0]?.detail, details).toContain('acting reboot (order: fastest: reboot');
    // Only the fast remedy ran on the host: the slow one was never needed.
    expect(commandsRun(agents[0]!)).toEqual(['clear-condition']);

    // The real attempt was recorded next to the seeded ones: a 4th duration, shorter than 10 s.
    const table = await readStepDurations(harness.redis);
    const reboots = table[durationKey(pool, FASTEST, 'reboot')];
    expect(reboots).toHaveLength(4);
    expect(reboots?.at(-1)).toBeLessThan(10_000);
    expect(table[durationKey(pool, FASTEST, 'restart-kubelet')]).toHaveLength(3);
  });

  it('keeps the written order for a fault without it, and records the slow remedy taking its time', async () => {
    await setNodeCondition(kube, writtenNode, 'ReadonlyFilesystem', 'True');
    await harness.fire(writtenNode, 'NodeReadonlyFilesystem', {
      condition: 'ReadonlyFilesystem',
      status: 'true',
    });
    const heal = await harness.finishedHeal(writtenNode, 90_000);
    const details = JSON.stringify(
      heal.transitions.map((t) => t.detail),
      null,
      1,
    );
    expect(heal.status, details).toBe('healed');
    expect(heal.ladder.map((s) => s.action)).toEqual(['restart-kubelet', 'reboot', 'replace']);
    expect(heal.ladderOrder).toBeNull();
    expect(heal.transitions.map((t) => `${t.kind}:${t.action}`)).toContain(
      'escalated:restart-kubelet',
    );
    expect(commandsRun(agents[1]!)).toEqual(['slow-restart-kubelet', 'clear-condition']);

    const table = await readStepDurations(harness.redis);
    const slow = table[durationKey(pool, WRITTEN, 'restart-kubelet')];
    expect(slow).toHaveLength(4);
    // 6 s on the host, then the 8 s verification wait.
    expect(slow?.at(-1)).toBeGreaterThanOrEqual(14_000);
    expect(table[durationKey(pool, WRITTEN, 'reboot')]).toHaveLength(4);
  });

  it('GET /remedies shows the learned durations and the expected time to heal per fault and pool', async () => {
    const res = await fetch(`${harness.serveUrl}/remedies`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      durations: {
        pool: string;
        fault: string;
        action: string;
        count: number;
        p50Ms: number;
        meanMs: number;
      }[];
      expected: { pool: string; fault: string; expectedMs: number; steps: { action: string }[] }[];
    };
    expect(body.durations).toContainEqual(
      expect.objectContaining({
        pool,
        fault: WRITTEN,
        action: 'restart-kubelet',
        count: 4,
        p50Ms: 14_000,
      }),
    );
    const fastest = body.expected.find((e) => e.pool === pool && e.fault === FASTEST);
    expect(fastest?.steps.map((s) => s.action)).toEqual(['reboot', 'restart-kubelet', 'replace']);
    const written = body.expected.find((e) => e.pool === pool && e.fault === WRITTEN);
    expect(written?.steps.map((s) => s.action)).toEqual(['restart-kubelet', 'reboot', 'replace']);
    expect(fastest!.expectedMs).toBeLessThan(written!.expectedMs);

    const page = await fetch(`${harness.serveUrl}/remedies`, { headers: { accept: 'text/html' } });
    const text = await page.text();
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(text).toContain('Learned durations');
    expect(text).toContain('Expected time to heal');
    expect(text).toContain(pool);
  });
});
