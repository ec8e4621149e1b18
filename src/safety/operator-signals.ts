// The operator's own signals that hold heals (pure): PromQL blockers (any result holds the
// disruptive steps of the pools they cover) and Alertmanager silences (one that matches a
// heal's fault alert, or nodeheal's own label set for the node, holds that heal).
import { z } from 'zod';

/** `NODEHEAL_BLOCKERS`: PromQL queries that hold drain, reboot and replace while they return anything. */
export const blockerSchema = z.object({
  /** Shown on the status API and page: `blocker ceph-health: ...`. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a short name (letters, digits, _.-)'),
  query: z.string().min(1),
  /** Pools (pool label values) it holds; absent: every pool. */
  pools: z.array(z.string().min(1)).min(1).optional(),
});
export const blockersSchema = z.array(blockerSchema);
export type Blocker = z.infer<typeof blockerSchema>;

export function blockerCovers(blocker: Blocker, pool: string): boolean {
  return blocker.pools === undefined || blocker.pools.includes(pool);
}

/** One of Alertmanager's silence matchers (API v2). */
export const silenceMatcherSchema = z.object({
  name: z.string(),
  value: z.string(),
  isRegex: z.boolean(),
  isEqual: z.boolean().default(true),
});
export type SilenceMatcher = z.infer<typeof silenceMatcherSchema>;

/** The part of an Alertmanager v2 silence that decides whether it holds a heal. */
export const silenceSchema = z.object({
  id: z.string(),
  matchers: z.array(silenceMatcherSchema),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string().default(''),
  comment: z.string().default(''),
  status: z.object({ state: z.string() }),
});
export type Silence = z.infer<typeof silenceSchema>;

/**
 * The `alertname` of nodeheal's own label set for a node: a silence with
 * `alertname="nodeheal", node="<node>"` (or `pool="<pool>"`) holds that node's heals, whatever
 * their fault, as an operator's "leave this node alone for now".
 */
export const NODEHEAL_SILENCE_ALERTNAME = 'nodeheal';

function matcherMatches(m: SilenceMatcher, labels: Readonly<Record<string, string>>): boolean {
  // As Alertmanager: a missing label is the empty string; regexes are anchored.
  const value = labels[m.name] ?? '';
  let hit: boolean;
  if (m.isRegex) {
    try {
      hit = new RegExp(`^(?:${m.value})$`).test(value);
    } catch {
      // Alertmanager refuses such a silence; one that slips through matches nothing.
      return false;
    }
  } else {
    hit = value === m.value;
  }
  return m.isEqual ? hit : !hit;
}

/** Whether every matcher of the silence matches `labels` (Alertmanager's rule). */
export function silenceMatches(
  silence: Pick<Silence, 'matchers'>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return silence.matchers.length > 0 && silence.matchers.every((m) => matcherMatches(m, labels));
}

export interface SilencedHeal {
  node: string;
  pool: string;
  fault: string;
  /** The labels of the fault alert that started (or joined) the heal. */
  alertLabels: Readonly<Record<string, string>>;
}

/**
 * The active silence that holds this heal, if any: one that silences its fault alert (with the
 * node label filled in, in case the alert named the node otherwise), or nodeheal's own label
 * set for the node. The one that ends last wins: the heal waits for it.
 */
export function holdingSilence(
  silences: readonly Silence[],
  heal: SilencedHeal,
  now: number,
): Silence | undefined {
  const alert = { node: heal.node, ...heal.alertLabels };
  const own = {
    alertname: NODEHEAL_SILENCE_ALERTNAME,
    node: heal.node,
    pool: heal.pool,
    fault: heal.fault,
  };
  const holding = silences.filter(
    (s) =>
      s.status.state === 'active' &&
      Date.parse(s.startsAt) <= now &&
      Date.parse(s.endsAt) > now &&
      (silenceMatches(s, alert) || silenceMatches(s, own)),
  );
  return holding.sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt))[0];
}

export function describeSilence(s: Silence): string {
  const matchers = s.matchers
    .map((m) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}"${m.value}"`)
    .join(', ');
  const by = s.createdBy ? ` by ${s.createdBy}` : '';
  const why = s.comment ? `: ${s.comment}` : '';
  return `silence ${s.id}${by} {${matchers}} until ${s.endsAt}${why}`;
}
