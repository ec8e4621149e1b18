// Pure: what a heal transition looks like to the outside, as a CloudEvents 1.0 event (structured
// mode JSON). No I/O here: the sinks (`notifier.ts`) send what this builds.
import type { HealRecord, HealStatus, Transition } from '../heal/index.ts';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
/** The CloudEvents `type` of a transition is this prefix and the transition kind. */
export const HEAL_EVENT_TYPE_PREFIX = 'io.nodeheal.heal.';

export interface HealEventData {
  healId: string;
  node: string;
  pool: string;
  fault: string;
  /** The transition kind (also the last part of the event type). */
  kind: Transition['kind'];
  /** Index of the ladder step the transition is about, from 0 (as `stepIndex` in /heals). */
  step: number;
  /** How many steps the heal's ladder has. */
  steps: number;
  action: Transition['action'];
  /** The step state or outcome before and after the transition. */
  from: Transition['from'];
  to: Transition['to'];
  /** The heal's status right after this transition: `running` until it ended. */
  status: HealStatus;
  detail: string;
  dryRun: boolean;
  /** The heal's status page; only with NODEHEAL_PUBLIC_URL (a relative link helps no one). */
  link?: string;
}

export interface HealCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: HealEventData;
}

export interface HealEventOptions {
  /** The CloudEvents source: `nodeheal/<cluster name>`. */
  source: string;
  /** The status page of a heal (absolute), when a public URL is configured. */
  link?: (healId: string) => string;
}

/** The CloudEvents id of a record's transition: the same on every retry, unique per transition. */
export function healEventId(healId: string, index: number): string {
  return `${healId}/${index}`;
}

/**
 * The CloudEvent of `record.transitions[index]`.
 *
 * - `id` is the heal id and the transition's position in the record: a transition is written
 *   once, so its id never changes (retries carry it, a sink dedupes on it) and no two share one.
 * - `type` is `io.nodeheal.heal.<kind>`; `subject` the node; `time` when the transition happened.
 * - `data.status` is the outcome for a transition that ended the heal (its `to`), else
 *   `running`: transitions announced together (started and healed) each say their own.
 * - `data.link` only when `link` gives an absolute http(s) URL.
 */
export function healCloudEvent(
  record: HealRecord,
  index: number,
  options: HealEventOptions,
): HealCloudEvent {
  const t = record.transitions[index];
  if (!t) throw new RangeError(`heal ${record.id} has no transition ${index}`);
  const link = options.link?.(record.id);
  const data: HealEventData = {
    healId: record.id,
    node: record.node,
    pool: record.pool,
    fault: record.fault,
    kind: t.kind,
    step: t.step,
    steps: record.ladder.length,
    action: t.action,
    from: t.from,
    to: t.to,
    status: statusAfter(t),
    detail: t.detail,
    dryRun: record.dryRun,
    ...(link && /^https?:\/\//.test(link) ? { link } : {}),
  };
  return {
    specversion: '1.0',
    id: healEventId(record.id, index),
    source: options.source,
    type: `${HEAL_EVENT_TYPE_PREFIX}${t.kind}`,
    subject: record.node,
    time: new Date(t.at).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

function statusAfter(t: Transition): HealStatus {
  switch (t.to) {
    case 'healed':
    case 'abandoned':
    case 'cancelled':
    case 'skipped':
      return t.to;
    default:
      return 'running';
  }
}
