// The disruption figures of `npm run bench:drain`, one line per drain and a table side by side.
import type { DisruptionReport } from './disruption.ts';

/** One line for a drain: evictions, the workloads' lowest Ready counts, recovery time. */
export function disruptionLine(r: DisruptionReport): string {
  const lows = r.workloads.map((w) => w.lowestReady);
  const below = r.workloads.filter((w) => w.breached);
  const floors = [...new Set(r.workloads.map((w) => w.floor ?? '-'))].join('/');
  return (
    `    ${r.evicted} evicted; lowest Ready per workload ${Math.min(...lows)}–${Math.max(...lows)}` +
    ` (ReplicaSet status ${Math.min(...r.workloads.map((w) => w.lowestStatusReady ?? w.replicas))}; PDB floor ${floors}); below PDB: ${below.length ? below.map((w) => `${w.workload} ${w.lowestReady}<${w.floor}`).join(', ') : 'none'}` +
    `; first eviction → all Running elsewhere ${r.recoverySeconds?.toFixed(2) ?? 'not reached'} s` +
    (r.watchBroken ? ' (a watch ended early: incomplete)' : '')
  );
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
};

/**
 * The table: per scenario and tool, over all rounds, the lowest Ready count of any workload
 * (and the controller's status.readyReplicas low), the PDB floor, how many workload-drains went
 * below it, and the median (and each round's) time from first eviction to all Running elsewhere.
 */
export function printDisruptionTable(
  reports: Record<string, Record<string, DisruptionReport[]>>,
  rounds: number,
): void {
  console.log('');
  console.log(`disruption during the drain, ${rounds} round(s) (pod and ReplicaSet watches):`);
  const header = [
    'scenario'.padEnd(46),
    'tool'.padEnd(8),
    'evicted'.padStart(7),
    'lowest Ready'.padStart(12),
    'status low'.padStart(10),
    'PDB floor'.padStart(9),
    'below PDB'.padStart(9),
    '  first eviction → all Running elsewhere (s)',
  ];
  console.log(`  ${header.join(' ')}`);
  for (const [scenario, byTool] of Object.entries(reports)) {
    for (const [tool, runs] of Object.entries(byTool)) {
      if (runs.length === 0) continue;
      const all = runs.flatMap((r) => r.workloads);
      const replicas = Math.max(...all.map((w) => w.replicas));
      const lowest = Math.min(...all.map((w) => w.lowestReady));
      const statusLow = Math.min(...all.map((w) => w.lowestStatusReady ?? w.replicas));
      const floors = [...new Set(all.map((w) => w.floor ?? '-'))].join('/');
      const below = all.filter((w) => w.breached).length;
      const times = runs.map((r) => r.recoverySeconds ?? NaN);
      const broken = runs.some((r) => r.watchBroken) ? ' (watch ended early)' : '';
      console.log(
        `  ${[
          scenario.padEnd(46),
          tool.padEnd(8),
          String(median(runs.map((r) => r.evicted))).padStart(7),
          `${lowest} of ${replicas}`.padStart(12),
          String(statusLow).padStart(10),
          floors.padStart(9),
          `${below} of ${all.length}`.padStart(9),
          `  ${median(times).toFixed(2)} (${times.map((t) => t.toFixed(2)).join(', ')})${broken}`,
        ].join(' ')}`,
      );
    }
  }
}
