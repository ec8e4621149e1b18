// What a chaos scenario counted over its rounds: heals (or acknowledged alerts) expected and
// recorded, lost and doubled, and the side effects seen from outside nodeheal (Events on the
// Node, evictions and provider calls in the apiserver's audit log) against the heal records.
// Every mismatch is kept as a sentence naming its round.

export interface Tally {
  scenario: string;
  rounds: number;
  /** Faults injected (SIGKILLs, restarts) that landed while the work was under way. */
  faults: number;
  expected: number;
  recorded: number;
  lost: number;
  doubled: number;
  /** Event reason → [seen, expected]. */
  events: Map<string, [number, number]>;
  /** Pods evicted (2xx) / pods that were on the healed nodes; evictions of a pod past its first. */
  evictions: { seen: number; expected: number; repeated: number } | undefined;
  /** Provider calls that changed something (2xx), against the heals that replaced a node. */
  provider: { creates: number; deletes: number; expected: number; attempts: number } | undefined;
  problems: string[];
}

export function newTally(scenario: string): Tally {
  return {
    scenario,
    rounds: 0,
    faults: 0,
    expected: 0,
    recorded: 0,
    lost: 0,
    doubled: 0,
    events: new Map(),
    evictions: undefined,
    provider: undefined,
    problems: [],
  };
}

/** Runs `oneRound` for rounds 1 to `rounds` in order, counting into one new tally of `scenario`. */
export async function runRounds(
  scenario: string,
  rounds: number,
  oneRound: (tally: Tally, round: number) => Promise<void>,
): Promise<Tally> {
  const tally = newTally(scenario);
  for (let round = 1; round <= rounds; round++) {
    await oneRound(tally, round);
    tally.rounds = round;
  }
  return tally;
}

/** Adds `seen` Events of `reason` where `expected` were due, noting a mismatch. */
export function countEvents(
  tally: Tally,
  round: number,
  reason: string,
  seen: number,
  expected: number,
): void {
  const [s, e] = tally.events.get(reason) ?? [0, 0];
  tally.events.set(reason, [s + seen, e + expected]);
  if (seen !== expected)
    tally.problems.push(`round ${round}: ${seen} ${reason} Events, not ${expected}`);
}

/** True when the tally holds nothing lost, nothing doubled and no mismatch. */
export function clean(tally: Tally): boolean {
  return tally.lost === 0 && tally.doubled === 0 && tally.problems.length === 0;
}

function pair([seen, expected]: [number, number]): string {
  return `${seen}/${expected}`;
}

/** One printable line per figure; `-` where the scenario has no such side effect. */
export function tallyLines(t: Tally): string[] {
  const events = [...t.events].map(([reason, p]) => `${reason} ${pair(p)}`).join(', ') || '-';
  const evictions = t.evictions
    ? `${t.evictions.seen}/${t.evictions.expected} pods, ${t.evictions.repeated} evicted again`
    : '-';
  const provider = t.provider
    ? `create ${t.provider.creates}/${t.provider.expected}, delete ${t.provider.deletes}/${t.provider.expected} (${t.provider.attempts} calls in all)`
    : '-';
  return [
    `${t.scenario}: ${t.rounds} rounds, ${t.faults} faults injected mid-work`,
    `  expected ${t.expected}, recorded ${t.recorded}, lost ${t.lost}, doubled ${t.doubled}`,
    `  Events (seen/expected): ${events}`,
    `  evictions (audit log): ${evictions}`,
    `  provider calls (audit log): ${provider}`,
    ...t.problems.map((p) => `  PROBLEM ${p}`),
    `  ${clean(t) ? 'PASS' : 'FAIL'}`,
  ];
}
