// One heal per node: a fault that comes due while the node is being healed joins that heal
// instead of starting a second one (one dead kubelet raises NodeUnreachable and KubeletDown
// together). Pure decisions about joined faults; `nextStep` applies them.
import type { LadderStep, RemedyAction } from '../rules/index.ts';
import type { HealRecord, JoinedFault } from './heal-record.ts';

/**
 * How much an action disturbs the node and its workloads: a host remedy (the workloads stay) <
 * a reboot (they stop and come back) < a replacement (the machine goes). Cordon and drain
 * prepare the step after them and count as that step; at the end of a ladder, as a reboot.
 */
const SEVERITY: Record<RemedyAction, number> = {
  'restart-kubelet': 1,
  'restart-container-runtime': 1,
  'clean-disk': 1,
  'sync-clock': 1,
  reboot: 2,
  cordon: 2,
  drain: 2,
  replace: 3,
};

/** The severity of step `index` of `ladder` (see SEVERITY); 0 past its end. */
export function stepSeverity(ladder: readonly LadderStep[], index: number): number {
  for (let i = index; i < ladder.length; i++) {
    const action = ladder[i]!.action;
    if (action !== 'cordon' && action !== 'drain') return SEVERITY[action];
  }
  return index < ladder.length ? SEVERITY.drain : 0;
}

/**
 * Whether the ladder of a joined fault is more drastic than where the heal goes next (step
 * `index` of its ladder; past the end, any ladder is): its first step disturbs more.
 */
export function outranks(
  candidate: readonly LadderStep[],
  ladder: readonly LadderStep[],
  index: number,
): boolean {
  return stepSeverity(candidate, 0) > stepSeverity(ladder, index);
}

/** The fault whose ladder step `index` comes from: a joined fault's, after a ladder change. */
export function faultOfStep(record: HealRecord, index: number): string {
  return record.ladderFault !== null && record.ladderFrom !== null && index >= record.ladderFrom
    ? record.ladderFault
    : record.fault;
}

/**
 * The joined fault whose ladder the heal follows now (its alert and node condition verify the
 * steps), or undefined while the heal follows its own.
 */
export function followedJoinedFault(record: HealRecord): JoinedFault | undefined {
  if (record.ladderFault === null || record.ladderFrom === null) return undefined;
  if (record.stepIndex < record.ladderFrom) return undefined;
  return record.joined.find((j) => j.fault === record.ladderFault);
}

/** A fault not yet part of the heal: neither its own, nor one that joined it already. */
export function isNewToHeal(record: HealRecord, fault: string): boolean {
  return fault !== record.fault && !record.joined.some((j) => j.fault === fault);
}

/**
 * The ladder after moving, at step `at`, to the joined fault's: the heal's steps before `at`
 * (done, or at least begun) stay, so that the record's transitions keep pointing at them.
 */
export function ladderMovedTo(
  ladder: readonly LadderStep[],
  at: number,
  joined: JoinedFault,
): LadderStep[] {
  return [...ladder.slice(0, at), ...joined.ladder];
}

/** "restart-kubelet → reboot → replace" */
export function describeLadder(ladder: readonly LadderStep[]): string {
  return ladder.map((s) => s.action).join(' → ');
}
