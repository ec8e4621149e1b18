// A full heal through nodeheal's own processes, for `npm run bench:drain`: `nodeheal serve` and
// `nodeheal worker` (the heal tests' harness: private Redis, nodeheal's chart RBAC, not admin),
// the node given KernelDeadlock=True and its alert posted to the webhook; the ladder is one
// `replace` step (cordon, drain through the Eviction API, KWOK replacement node). Measured from
// the alert's delivery to the heal's end. `npm run bench:heal` reuses it with NODEHEAL_SURGE and
// reads the heal record itself (its origin's due time and phases).
import type { HealRecord } from '../../src/heal/index.ts';
import type { Stack } from '../stack/stack.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { deleteNodePool } from '../stack/helpers/pool.ts';
import { startHarness, type Harness } from '../integration/support/heal-harness.ts';
import { nodehealKubeconfig } from '../integration/support/nodeheal-identity.ts';

export interface HealRun {
  status: string;
  seconds: number;
  reason: string | undefined;
  record: HealRecord;
}

export interface HealRunnerOptions {
  /** Extra worker environment (NODEHEAL_SURGE=true for bench:heal's surge rows). */
  workerEnv?: Record<string, string>;
}

export interface HealRunner {
  /**
   * Heals `node` (alone in its pool `pool`), then deletes the pool, replacement included
   * (`keepPool`: the caller deletes it, after it has seen the workloads settle).
   */
  heal(node: string, pool: string, options?: { keepPool?: boolean }): Promise<HealRun>;
  stop(): Promise<void>;
}

export async function startHealRunner(
  stack: Stack,
  kube: KubeClients,
  options: HealRunnerOptions = {},
): Promise<HealRunner> {
  const harness: Harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack.info)).path,
    ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '300s' }] },
    workerEnv: {
      // One node per pool here: a replace takes the pool's only node out for a moment.
      NODEHEAL_SAFETY: JSON.stringify({
        nodeCooldownMs: 0,
        stormCooldownMs: 0,
        poolBudget: 1000,
        clusterBudget: 1000,
      }),
      ...options.workerEnv,
    },
  });
  return {
    async heal(node, pool, healOptions = {}) {
      await setNodeCondition(kube, node, 'KernelDeadlock', 'True');
      const started = performance.now();
      await harness.fire(node, 'NodeKernelDeadlock', {
        condition: 'KernelDeadlock',
        status: 'true',
      });
      const record = await harness.finishedHeal(node, 300_000);
      const seconds = (performance.now() - started) / 1000;
      if (!healOptions.keepPool) await deleteNodePool(kube, pool);
      return {
        status: record.status,
        seconds,
        reason: record.outcomeReason ?? undefined,
        record,
      };
    },
    stop: () => harness.stop(),
  };
}
