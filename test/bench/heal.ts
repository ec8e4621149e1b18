// `npm run bench:heal`: nodeheal's own share of a node replacement, from the heal becoming due
// (the heal record's `origin.dueAt`, after the alert's debounce) to capacity back: a replacement
// node Ready for pods AND every pod evicted from the node Running and Ready elsewhere.
//
// A stack with Kubernetes only (real kube-apiserver, controllers, scheduler; KWOK kubelets), a
// receiving pool of 4 nodes and a DaemonSet on every node, as bench:drain. For each surge mode
// (a nodeheal serve + worker pair each, heal-run.ts; NODEHEAL_SURGE=true: the KWOK provider
// brings the replacement up before the drain), each round, each size (pods on the node) and with
// and without a PDB of minAvailable replicas-1 per ReplicaSet of 10 (drain-scenario.ts): a fresh
// node with the pods, KernelDeadlock=True and its alert posted, ladder one `replace` step
// (heal-case.ts). Prints per case the time and the workloads' lowest Ready count against their PDB
// floor (disruption.ts), then a table: p50 and each round's value, where the time went (the
// record's phases, heal-phases.ts), and the targets (p50 ≤ 5 s for 30 pods without a PDB; never
// fewer Ready pods than the PDBs allow). A benchmark, not a test: exits 0 unless the setup or a
// heal fails.
//
// Environment: BENCH_ROUNDS (default 3), BENCH_PODS (sizes, default 10,30,110), BENCH_SURGE
// (modes, default false,true), BENCH_PDB (default both: false,true).
import { adminClients } from '../stack/helpers/kube.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { createDaemonSet, createNamespace } from '../stack/helpers/workloads.ts';
import { startStack } from '../stack/stack.ts';
import { disruptionLine } from './disruption-table.ts';
import { measureHeal, type HealCase } from './heal-case.ts';
import { startHealRunner, type HealRunner } from './heal-run.ts';
import { printHealTable, type HealRow } from './heal-table.ts';

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(',').map((x) => x.trim());
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const sizes = list('BENCH_PODS', '10,30,110').map(Number);
const surges = list('BENCH_SURGE', 'false,true').map((x) => x === 'true');
const pdbs = list('BENCH_PDB', 'false,true').map((x) => x === 'true');

const stack = await startStack({ mode: 'attached', parts: ['kube'] });
let healer: HealRunner | undefined;
try {
  const kube = adminClients(stack.info);
  const receivers = await createNodePool(kube, { name: 'recv', size: 4 });
  await createNamespace(kube, 'bench-system');
  await createDaemonSet(kube, 'bench-system', 'node-agent');

  const rows: HealRow[] = [];
  for (const surge of surges) {
    healer = await startHealRunner(stack, kube, {
      workerEnv: { NODEHEAL_SURGE: String(surge) },
    });
    for (let round = 0; round < rounds; round++) {
      for (const [s, pods] of sizes.entries()) {
        for (const pdb of pdbs) {
          let row = rows.find((r) => r.pods === pods && r.pdb === pdb && r.surge === surge);
          if (!row) rows.push((row = { pods, pdb, surge, cases: [] }));
          const id = `hb-${surge ? 's' : 'n'}${pdb ? 'p' : 'f'}-s${s}-r${round}`;
          const scenario = { name: `${pods} pods${pdb ? ', PDB' : ''}`, pdb };
          const measured: HealCase = await measureHeal(kube, healer, receivers, id, scenario, pods);
          row.cases.push(measured);
          const p = measured.phases;
          console.log(
            `  ${scenario.name}, surge ${surge}, round ${round + 1}: due → capacity back ` +
              `${measured.capacitySeconds.toFixed(2)} s (replacement Ready ` +
              `${measured.replacementSeconds.toFixed(2)} s, pods elsewhere ` +
              `${measured.podsSeconds.toFixed(2)} s, record ended ` +
              `${measured.recordSeconds.toFixed(2)} s; queued ${p.queuedMs} ms, acting ` +
              `${p.actingMs} ms, verification ${p.verificationMs} ms)`,
          );
          console.log(disruptionLine(measured.disruption));
        }
      }
    }
    await healer.stop();
    healer = undefined;
  }
  printHealTable(rows, rounds);
} finally {
  await healer?.stop();
  await stack.stop();
}
