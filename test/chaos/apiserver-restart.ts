// Scenario: the kube-apiserver restarted (SIGTERM, then started again on the same port, etcd
// keeping the cluster) at a random moment of a node's drain. The worker's calls fail while it is
// away; the heal must go on when it is back and end once, healed, with every pod evicted once,
// one replacement and each of its Events once (counted from the outside: heal-accounting.ts).
import type { Harness } from '../integration/support/heal-harness.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { restartProcess, type Stack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import {
  breakNode,
  countHeal,
  newVictim,
  removeVictim,
  startChaosHarness,
  type ChaosCluster,
} from './heal-accounting.ts';
import { runRounds, type Tally } from './tally.ts';

export const APISERVER_RESTART = 'apiserver-restart';
/** The restart falls this long at most after the drain began (the node cordoned): a drain here takes 1 to 2 s. */
const RESTART_WINDOW_MS = 1000;

/** serve and one worker: the apiserver, not a worker, is what fails here. */
export async function startApiserverRestartHarness(c: ChaosCluster): Promise<Harness> {
  return await startChaosHarness(c, 1);
}

/** Restarts the stack's kube-apiserver and waits until it answers again; returns its downtime. */
async function restartApiserver(c: ChaosCluster, stack: Stack): Promise<number> {
  const apiserver = stack.processes.findLast((p) => p.spec.name === 'kube-apiserver');
  if (!apiserver) throw new Error('the stack runs no kube-apiserver');
  const stoppedAt = Date.now();
  await restartProcess(stack, apiserver, async () => {
    try {
      await c.kube.core.listNamespace({ limit: 1 });
      return true;
    } catch {
      return undefined;
    }
  });
  return Date.now() - stoppedAt;
}

async function oneRound(
  c: ChaosCluster,
  stack: Stack,
  harness: Harness,
  tally: Tally,
  round: number,
) {
  const victim = await newVictim(c.kube);
  try {
    await breakNode(c.kube, harness, victim);
    await eventually(
      'the drain to begin (the node cordoned)',
      async () => (await c.kube.core.readNode({ name: victim.node })).spec?.unschedulable === true,
      60_000,
      100,
    );
    const drainAt = Date.now();
    await sleep(c.rng.between(0, RESTART_WINDOW_MS));
    const [heal] = await harness.healsFor(victim.node);
    const phase = heal?.transitions.at(-1)?.kind ?? 'queued';
    const at = ((Date.now() - drainAt) / 1000).toFixed(1);
    const downMs = await restartApiserver(c, stack);
    // Counted as landed only when the heal still ran.
    if (heal?.status === 'running') tally.faults += 1;
    const summary = await countHeal(c, harness, tally, round, victim);
    c.log(
      `  ${APISERVER_RESTART} round ${round}: apiserver restarted ${at} s into the drain (${phase}), away ${(downMs / 1000).toFixed(1)} s; ${summary}`,
    );
  } finally {
    await removeVictim(c.kube, victim);
  }
}

/** Runs `rounds` heals with the apiserver restarted under their drains. */
export async function apiserverRestartRounds(
  c: ChaosCluster,
  stack: Stack,
  harness: Harness,
  rounds: number,
): Promise<Tally> {
  return await runRounds(APISERVER_RESTART, rounds, (tally, round) =>
    oneRound(c, stack, harness, tally, round),
  );
}
