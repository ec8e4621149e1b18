// Scenario 1: heal workers SIGKILLed at random moments of a heal (one of them or all at once,
// one or two times per heal), and started again; every heal is counted from the outside
// (heal-accounting.ts): it ends once, and its Events, evictions and provider calls happen once.
import type { Harness } from '../integration/support/heal-harness.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { sleep } from '../stack/wait.ts';
import {
  breakNode,
  countHeal,
  newVictim,
  removeVictim,
  startChaosHarness,
  type ChaosCluster,
} from './heal-accounting.ts';
import type { Rng } from './rng.ts';
import { runRounds, type Tally } from './tally.ts';

export const WORKER_KILL = 'worker-kill';
/** The first kill falls this long at most after the heal record appears. */
const FIRST_KILL_WINDOW_MS = 800;
/** A second kill falls this long at most after the workers were started again. */
const LATER_KILL_WINDOW_MS = 6000;

/** serve and two workers (so that a kill may leave one running or none). */
export async function startWorkerKillHarness(c: ChaosCluster): Promise<Harness> {
  return await startChaosHarness(c, 2);
}

/** SIGKILLs one live worker or all of them (a coin decides) and starts as many again. */
async function killWorkers(harness: Harness, rng: Rng): Promise<number> {
  const live = harness.workers.filter((w) => !w.killedByTest());
  const victims = rng.next() < 0.5 ? live : [live[rng.between(0, live.length - 1)]!];
  await Promise.all(victims.map((w) => w.kill('SIGKILL')));
  for (let i = 0; i < victims.length; i++) await harness.startWorker();
  return victims.length;
}

async function oneRound(c: ChaosCluster, harness: Harness, tally: Tally, round: number) {
  const victim = await newVictim(c.kube);
  try {
    await breakNode(c.kube, harness, victim);
    const fired = Date.now();
    // The first kill lands in the first moments of the heal (it takes a second or two here);
    // a second one within the resumed heal (a killed worker's job is taken again after its
    // 4 s lock), or later when that has already ended.
    await eventually('the heal record', async () => (await harness.healsFor(victim.node))[0]);
    const kills = c.rng.between(1, 2);
    const moments: string[] = [];
    for (let k = 0; k < kills; k++) {
      await sleep(c.rng.between(0, k === 0 ? FIRST_KILL_WINDOW_MS : LATER_KILL_WINDOW_MS));
      const [heal] = await harness.healsFor(victim.node);
      if (heal && heal.status !== 'running') break;
      const phase = heal ? (heal.transitions.at(-1)?.kind ?? 'created') : 'queued';
      const killed = await killWorkers(harness, c.rng);
      moments.push(`${killed} at ${((Date.now() - fired) / 1000).toFixed(1)} s (${phase})`);
      tally.faults += killed;
    }
    const summary = await countHeal(c, harness, tally, round, victim);
    c.log(
      `  ${WORKER_KILL} round ${round}: workers killed ${moments.join(', ') || 'none (heal over)'}; ${summary}`,
    );
  } finally {
    await removeVictim(c.kube, victim);
  }
}

/** Runs `rounds` heals with workers killed under them; the harness comes from the caller. */
export async function workerKillRounds(
  c: ChaosCluster,
  harness: Harness,
  rounds: number,
): Promise<Tally> {
  return await runRounds(WORKER_KILL, rounds, (tally, round) => oneRound(c, harness, tally, round));
}
