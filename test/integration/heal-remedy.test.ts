// A known fault is healed by its expert remedy through a real node agent process, without a
// drain; a remedy that does not fix the fault escalates, finally to replacement. Each test runs
// its own nodeheal on a fresh Redis, so that no test reads the attempts of another.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { repoRoot } from '../stack/paths.ts';
import { startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness | undefined;
const agents: AgentProcess[] = [];
let fixed = '';
let stubborn = '';
let secretDir: string;
let secretFile: string;
let kubeconfig: string;

/** A nodeheal (serve and worker) of its own, on a fresh Redis: no heal or attempt from before. */
async function startNodeheal(): Promise<Harness> {
  harness = await startHarness({
    kubeconfig,
    ladders: {
      'kernel-deadlock': [
        { action: 'reboot', timeout: '8s' },
        { action: 'replace', timeout: '90s' },
      ],
    },
    workerEnv: {
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_ENDPOINTS: JSON.stringify({
        [fixed]: agents[0]!.url,
        [stubborn]: agents[1]!.url,
      }),
    },
  });
  return harness;
}

/** The measured success rate of `action` for `fault`, as the status API shows it. */
async function rateOf(h: Harness, fault: string, action: string) {
  const { rates } = (await (await fetch(`${h.serveUrl}/remedies`)).json()) as {
    rates: { fault: string; action: string; attempts: number; successes: number; rate: number }[];
  };
  return rates.find((r) => r.fault === fault && r.action === action);
}

beforeAll(async () => {
  kube = adminClients(stack);
  const nodes = await createNodePool(kube, { name: uniqueName('rm'), size: 3 });
  fixed = nodes[0]!;
  stubborn = nodes[1]!;
  secretDir = mkdtempSync(join(tmpdir(), 'nodeheal-agent-secret-'));
  secretFile = join(secretDir, 'secret');
  writeFileSync(secretFile, 'agent-shared-secret-for-nodeheal-tests-0123456789\n');
  const clear = (node: string) => ({
    argv: ['/bin/sh', join(repoRoot, 'test', 'agent-fixtures', 'clear-condition.sh'), '@STATE@'],
    timeout: '20s',
    env: {
      KUBECTL: stack.kubectl!,
      KUBECONFIG: stack.kubeconfig!,
      NODE: node,
      CONDITION: 'KernelDeadlock',
    },
  });
  const noop = {
    argv: [
      '/bin/sh',
      join(repoRoot, 'test', 'agent-fixtures', 'record-run.sh'),
      '@STATE@',
      'record-run',
    ],
    timeout: '10s',
  };
  // The "reboot" of the first node fixes the fault; the second node's does not.
  agents.push(await startAgentProcess(fixed, secretFile, { reboot: clear(fixed) }));
  agents.push(await startAgentProcess(stubborn, secretFile, { reboot: noop }));
  kubeconfig = (await nodehealKubeconfig(kube, stack)).path;
});

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  rmSync(secretDir, { recursive: true, force: true });
});

/** What the agent's commands appended (empty when none ran). */
function readLog(agent: AgentProcess): string {
  try {
    return readFileSync(join(agent.stateDir, 'runs.log'), 'utf8');
  } catch {
    return '';
  }
}

const deadlock = { condition: 'KernelDeadlock', status: 'true' };

describe('expert remedies through the node agent', () => {
  it("heals a kernel deadlock by the agent's reboot, without cordon or drain", async () => {
    const harness = await startNodeheal();
    await setNodeCondition(kube, fixed, 'KernelDeadlock', 'True');
    await harness.fire(fixed, 'NodeKernelDeadlock', deadlock);
    const heal = await harness.finishedHeal(fixed, 60_000);
    expect(heal.status, JSON.stringify(heal.transitions, null, 1)).toBe('healed');
    expect(
      heal.transitions.map((t) => t.action),
      JSON.stringify(heal.transitions.map((t) => t.detail)),
    ).not.toContain('replace');
    expect(readLog(agents[0]!)).toContain('clear-condition');
    const node = await kube.core.readNode({ name: fixed });
    expect(node.spec?.unschedulable).toBeFalsy();
    expect(node.metadata?.annotations?.['nodeheal.io/cordoned-by']).toBeUndefined();
    expect(node.metadata?.annotations?.['nodeheal.io/heal']).toBeUndefined();
    const reasons = (
      await kube.core.listEventForAllNamespaces({ fieldSelector: `involvedObject.name=${fixed}` })
    ).items.map((e) => e.reason);
    expect(reasons).toContain('RemedyApplied');
    expect(reasons).toContain('HealSucceeded');
    expect(reasons).not.toContain('NodeDrained');
    expect(
      await harness.workerMetric('nodeheal_remedy_attempts_total', {
        remedy: 'reboot',
        result: 'success',
      }),
    ).toBe(1);
    expect(await rateOf(harness, 'kernel-deadlock', 'reboot')).toMatchObject({
      attempts: 1,
      successes: 1,
      rate: 1,
    });
  });

  it('escalates when the remedy does not fix the fault, finally replacing the node', async () => {
    const harness = await startNodeheal();
    await setNodeCondition(kube, stubborn, 'KernelDeadlock', 'True');
    await harness.fire(stubborn, 'NodeKernelDeadlock', deadlock);
    const heal = await harness.finishedHeal(stubborn, 120_000);
    expect(heal.status, JSON.stringify(heal.transitions, null, 1)).toBe('healed');
    const kinds = heal.transitions.map((t) => `${t.kind}:${t.action}`);
    expect(kinds, JSON.stringify(heal.transitions.map((t) => t.detail))).toContain(
      'escalated:reboot',
    );
    expect(heal.nodeGone).toBe(true);
    expect(readLog(agents[1]!), JSON.stringify(heal.transitions.map((t) => t.detail))).toContain(
      'record-run',
    );
    await eventually(
      'old node gone',
      async () =>
        (await kube.core.listNode({ fieldSelector: `metadata.name=${stubborn}` })).items.length ===
        0,
    );
    expect(
      await harness.workerMetric('nodeheal_remedy_attempts_total', {
        remedy: 'reboot',
        result: 'failure',
      }),
    ).toBe(1);
    // The status API shows the measured success rate of the remedy for this fault: this
    // nodeheal's one attempt, which failed.
    expect(await rateOf(harness, 'kernel-deadlock', 'reboot')).toMatchObject({
      attempts: 1,
      successes: 0,
      rate: 0,
    });
  });
});
