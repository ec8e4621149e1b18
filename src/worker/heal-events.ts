// What a heal tells people: one Event on the Node per transition that matters, a log line per
// transition, and a notification per stage to the configured sinks (src/notify). Events never
// hold a step back and never fail a heal; they are awaited when the heal ends, so that the last
// one is written before the heal's job completes. Each is told once: named from what it tells, it
// is written again through an apiserver outage and after a worker's crash, and found when it is
// already there. Notifications are never awaited.
import type { EventReason, NodeOps } from '../actions/index.ts';
import type { Logger } from '../log/index.ts';
import { costSummary, type HealRecord, type Transition } from '../heal/index.ts';

/** Sends a heal's transitions to the outside (src/notify); must return at once and never throw. */
export interface HealNotifier {
  transition(record: HealRecord, index: number): void;
}

export interface HealEventDeps {
  nodeOps: Pick<NodeOps, 'event'>;
  logger: Logger;
  /** Outgoing notifications (NODEHEAL_NOTIFY_SINKS); none when unset. */
  notifier?: HealNotifier;
  /** A heal's status page (NODEHEAL_PUBLIC_URL); Event messages end with it when set. */
  healLink?: ((healId: string) => string) | undefined;
}

/** The API server's cap on an Event message, which `KubeNodeOps.event` applies too. */
const EVENT_MESSAGE_MAX = 1024;

/**
 * An Event message with its heal's status page: every message nodeheal writes begins
 * `heal <id>`; with a link for that id the message ends `; status page: <link>`, the message
 * shortened (ending `…`) when both would pass the 1 KiB cap, so the link stays whole. Without a
 * link, or a message that names no heal, the message is unchanged.
 */
export function withStatusLink(
  message: string,
  healLink: ((healId: string) => string) | undefined,
): string {
  const id = /^heal (\S+)/.exec(message)?.[1]?.replace(/:$/, '');
  if (healLink === undefined || id === undefined) return message;
  const suffix = `; status page: ${healLink(id)}`;
  if (suffix.length >= EVENT_MESSAGE_MAX) return message;
  const room = EVENT_MESSAGE_MAX - suffix.length;
  const body = message.length > room ? `${message.slice(0, room - 1)}…` : message;
  return body + suffix;
}

/**
 * How long an Event is tried again through an apiserver outage (a restart takes seconds). Events
 * are awaited when the heal ends, so this is also the most an outage delays that end.
 */
export const EVENT_RETRY_MS = 60_000;
const EVENT_RETRY_FIRST_MS = 500;
const EVENT_RETRY_MAX_MS = 8_000;

/** Keys of the Events this worker wrote (or found written), oldest first, at most TOLD_MAX. */
const told = new Set<string>();
const TOLD_MAX = 10_000;

function remember(key: string): void {
  told.add(key);
  if (told.size > TOLD_MAX) told.delete(told.values().next().value!);
}

/** Forgets which Events were told, as a new worker process would (tests). */
export function forgetToldEvents(): void {
  told.clear();
}

/** Events being written, per heal. */
const pendingEvents = new Map<string, Promise<void>[]>();

/**
 * What makes an Event of a heal told once (`NodeOps.event`'s key): the heal, the step, and the
 * occasion (a transition's index, or an Event reason with the step's attempt).
 */
export function eventKey(healId: string, ...occasion: (string | number)[]): string {
  return [healId, ...occasion].join('/');
}

/** Writes one Event on `node` (once per `key` when given); a failure is logged, never thrown. */
export async function event(
  deps: HealEventDeps,
  node: string,
  reason: EventReason,
  message: string,
  type: 'Normal' | 'Warning' = 'Normal',
  key?: string,
): Promise<void> {
  // Told already by this worker: a heal held at its start asks again every few seconds, and each
  // ask would otherwise cost the apiserver a read and a refused create.
  if (key !== undefined && told.has(key)) return;
  const deadline = Date.now() + EVENT_RETRY_MS;
  for (let delay = EVENT_RETRY_FIRST_MS; ; delay = Math.min(delay * 2, EVENT_RETRY_MAX_MS)) {
    try {
      await deps.nodeOps.event(node, reason, withStatusLink(message, deps.healLink), type, key);
      if (key !== undefined) remember(key);
      return;
    } catch (error) {
      // An apiserver restarting or overloaded answers again soon. Only an Event named from its
      // key is written again: one whose answer was lost may already be there, and the key finds
      // it instead of doubling it.
      const code = (error as { code?: string }).code;
      const passing = code === 'KUBE_TRANSIENT' || code === 'KUBE_TOO_MANY_REQUESTS';
      if (key === undefined || !passing || Date.now() + delay > deadline) {
        // Events are for people; a failed event never fails a heal.
        deps.logger.warn({ err: error, node, reason }, 'could not record event');
        return;
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, delay));
    }
  }
}

/**
 * The Event of a transition, if it has one: `started` HealStarted, `escalated` and
 * `ladder-changed` (a joined fault's more drastic ladder) Escalated,
 * `retry-scheduled` RemedyFailed, `healed` HealSucceeded, `abandoned` HealAbandoned (Warning: a
 * human is needed), `cancelled` HealAbandoned (Normal), and a heal ending `skipped` HealSkipped
 * (Normal: a gate refused it on purpose; a step skipped within a heal has no Event).
 */
export function eventFor(t: Transition): [EventReason, 'Normal' | 'Warning'] | undefined {
  switch (t.kind) {
    case 'started':
      return ['HealStarted', 'Normal'];
    case 'escalated':
    case 'ladder-changed':
      return ['Escalated', 'Warning'];
    case 'retry-scheduled':
      return ['RemedyFailed', 'Warning'];
    case 'healed':
      return ['HealSucceeded', 'Normal'];
    case 'abandoned':
      return ['HealAbandoned', 'Warning'];
    case 'cancelled':
      return ['HealAbandoned', 'Normal'];
    case 'skipped':
      return t.to === 'skipped' ? ['HealSkipped', 'Normal'] : undefined;
    default:
      return undefined;
  }
}

/** Logs a new transition, starts writing its Event (see `eventFor`) and queues its notifications. */
export function announce(deps: HealEventDeps, record: HealRecord, t: Transition): void {
  deps.logger.info(
    {
      healId: record.id,
      node: record.node,
      fault: record.fault,
      step: t.step,
      action: t.action,
      from: t.from,
      to: t.to,
      kind: t.kind,
    },
    t.detail,
  );
  writeTransitionEvent(deps, record, t);
  // Not awaited, unlike Events: a sink may be down for minutes, and the notifier queues and
  // retries on its own; the transition's position in the record is its notification's id.
  deps.notifier?.transition(record, record.transitions.indexOf(t));
}

/** Starts writing the Event of transition `t`, if it has one, named after its index. */
function writeTransitionEvent(deps: HealEventDeps, record: HealRecord, t: Transition): void {
  const reason = eventFor(t);
  if (!reason) return;
  // HealStarted says what the heal will disrupt, when that was worked out.
  const cost = t.kind === 'started' && record.cost ? `; ${costSummary(record.cost)}` : '';
  const pending = event(
    deps,
    record.node,
    reason[0],
    `heal ${record.id} (${record.fault}): ${t.detail}${cost}`,
    reason[1],
    eventKey(record.id, `t${record.transitions.indexOf(t)}`),
  );
  pendingEvents.set(record.id, [...(pendingEvents.get(record.id) ?? []), pending]);
}

/**
 * Writes again the Events of every transition of a resumed heal: a worker that died between
 * saving a transition and writing its Event lost that Event. Each is named after its transition,
 * so the ones already there are found and not written twice.
 */
export function reannounceEvents(deps: HealEventDeps, record: HealRecord): void {
  for (const t of record.transitions) writeTransitionEvent(deps, record, t);
}

/** Waits for the Events of heal `healId` still being written. */
export async function flushEvents(healId: string): Promise<void> {
  await Promise.all(pendingEvents.get(healId) ?? []);
  pendingEvents.delete(healId);
}
