// The table `npm run bench:heal` ends with: per size, PDB and surge mode, the p50 (and each
// round's value) of due → capacity back, its two parts, where the heal record's time went, the
// lowest Ready count against the PDB floor, and the two targets.
import type { HealCase } from './heal-case.ts';

export interface HealRow {
  pods: number;
  pdb: boolean;
  surge: boolean;
  cases: HealCase[];
}

/** The target: p50 of due → capacity back at most this, for 30 pods without PDB pressure. */
export const TARGET_SECONDS = 5;
export const TARGET_PODS = 30;

/** The lower median (a real round's value, as the other benchmarks report it). */
export function p50(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

const secs = (xs: number[]) => `${p50(xs).toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(', ')})`;

function lowestReady(row: HealRow): { text: string; below: number; total: number } {
  const all = row.cases.flatMap((c) => c.disruption.workloads);
  const lowest = Math.min(...all.map((w) => w.lowestReady));
  const replicas = Math.max(...all.map((w) => w.replicas));
  const floors = [...new Set(all.map((w) => w.floor ?? '-'))].join('/');
  const below = all.filter((w) => w.breached).length;
  return { text: `${lowest} of ${replicas} (floor ${floors})`, below, total: all.length };
}

export function printHealTable(rows: HealRow[], rounds: number): void {
  console.log('');
  console.log(
    `time to heal (replace), due → capacity back, ${rounds} round(s): p50 s (each round)`,
  );
  const header = [
    'pods'.padStart(4),
    'PDB'.padEnd(3),
    'surge'.padEnd(5),
    'capacity back'.padEnd(28),
    'replacement Ready'.padEnd(28),
    'pods elsewhere'.padEnd(28),
    'queued/acting/verify ms'.padEnd(24),
    'lowest Ready'.padEnd(20),
    'below PDB',
  ];
  console.log(`  ${header.join('  ')}`);
  for (const row of rows) {
    const low = lowestReady(row);
    const phase = (pick: (c: HealCase) => number | null) =>
      p50(row.cases.map((c) => pick(c) ?? NaN)).toFixed(0);
    console.log(
      `  ${[
        String(row.pods).padStart(4),
        (row.pdb ? 'yes' : 'no').padEnd(3),
        (row.surge ? 'yes' : 'no').padEnd(5),
        secs(row.cases.map((c) => c.capacitySeconds)).padEnd(28),
        secs(row.cases.map((c) => c.replacementSeconds)).padEnd(28),
        secs(row.cases.map((c) => c.podsSeconds)).padEnd(28),
        [
          phase((c) => c.phases.queuedMs),
          phase((c) => c.phases.actingMs),
          phase((c) => c.phases.verificationMs),
        ]
          .join('/')
          .padEnd(24),
        low.text.padEnd(20),
        row.pdb ? `${low.below} of ${low.total}` : '–',
      ].join('  ')}`,
    );
  }
  console.log('');
  for (const row of rows.filter((r) => r.pods === TARGET_PODS && !r.pdb)) {
    const value = p50(row.cases.map((c) => c.capacitySeconds));
    console.log(
      `  target p50 ≤ ${TARGET_SECONDS} s, ${TARGET_PODS} pods, no PDB, surge ${row.surge}: ` +
        `${value.toFixed(2)} s ${value <= TARGET_SECONDS ? 'MET' : 'MISSED'}`,
    );
  }
  const behindPdb = rows.filter((r) => r.pdb).map(lowestReady);
  if (behindPdb.length > 0) {
    const below = behindPdb.reduce((n, l) => n + l.below, 0);
    const total = behindPdb.reduce((n, l) => n + l.total, 0);
    console.log(
      `  target never fewer Ready than the PDBs allow: ${below} of ${total} workload-heals below ` +
        `${below === 0 ? 'MET' : 'MISSED'}`,
    );
  }
}
