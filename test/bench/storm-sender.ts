// Sends the planned storm to every Alertmanager of the HA pair the way Prometheus does: a new
// alert at once, then again every RESEND_MS while it fires (endsAt a few resends ahead, so that an
// alert Prometheus stops sending resolves by itself), and a resolved alert with its endsAt twice.
// Node conditions the plan ties to alerts (a sick node's KernelDeadlock, the blip's
// NetworkUnavailable) are set before the alert first goes out and cleared when it resolves.
import { setNodeCondition } from '../stack/helpers/faults.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';
import type { PlannedAlert } from './storm-plan.ts';

/** Prometheus' --rules.alert.resend-delay is 1 m; shorter here, so re-sends happen in a minute. */
const RESEND_MS = 10_000;
const TICK_MS = 1000;
/** Alerts per POST, as Prometheus batches its notifications (its default is 64; larger here). */
const BATCH = 500;
/** Resolved alerts go out this many times (Prometheus keeps re-sending them for 15 min). */
const RESOLVED_SENDS = 2;

interface SendState {
  alert: PlannedAlert;
  startsAt: string;
  lastSentMs: number;
  resolvedSends: number;
  conditionSet: boolean;
}

export interface Sender {
  /** Resolves a persistent alert now (its node's heal ended). */
  resolveNode(node: string): void;
  /** Resolves whatever still fires. */
  resolveAll(): void;
  /** True once every alert has resolved and its resolved notifications went out. */
  done(): boolean;
  stop(): Promise<void>;
  posts: () => { ok: number; failed: number; alerts: number };
  /** How late each alert first went out against its planned start, in ms (the sender's own lag). */
  sendLagMs: () => number[];
  /** How long each POST to an Alertmanager took, in ms. */
  postMs: () => number[];
}

async function post(url: string, body: unknown[]): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export function startSender(
  kube: KubeClients,
  alertmanagers: string[],
  alerts: PlannedAlert[],
  startedAt: number,
): Sender {
  const states: SendState[] = alerts.map((alert) => ({
    alert,
    startsAt: new Date(startedAt + alert.startMs).toISOString(),
    lastSentMs: -Infinity,
    resolvedSends: 0,
    conditionSet: false,
  }));
  const counts = { ok: 0, failed: 0, alerts: 0 };
  const sendLag: number[] = [];
  const postTimes: number[] = [];
  let stopped = false;
  const conditionsSet = new Set<string>();

  const conditions = async (now: number) => {
    const writes: Promise<void>[] = [];
    for (const s of states) {
      const { alert } = s;
      const condition = alert.condition ?? (alert.kind === 'persistent' ? 'KernelDeadlock' : '');
      if (condition === '' || s.conditionSet || startedAt + alert.startMs > now) continue;
      s.conditionSet = true;
      const key = `${alert.node}/${condition}`;
      if (conditionsSet.has(key)) continue;
      conditionsSet.add(key);
      writes.push(setNodeCondition(kube, alert.node, condition, 'True'));
    }
    for (const s of states) {
      const { alert } = s;
      if (!alert.condition || alert.endMs === undefined || !s.conditionSet) continue;
      const key = `${alert.node}/${alert.condition}`;
      if (startedAt + alert.endMs > now || !conditionsSet.has(key)) continue;
      conditionsSet.delete(key);
      writes.push(setNodeCondition(kube, alert.node, alert.condition, 'False'));
    }
    await Promise.all(writes);
  };

  const tick = async () => {
    const now = Date.now();
    await conditions(now);
    const batch: unknown[] = [];
    for (const s of states) {
      const { alert } = s;
      if (startedAt + alert.startMs > now) break; // sorted by start
      const endAt = alert.endMs === undefined ? undefined : startedAt + alert.endMs;
      if (endAt !== undefined && endAt <= now) {
        if (s.resolvedSends >= RESOLVED_SENDS || now - s.lastSentMs < TICK_MS) continue;
        s.resolvedSends++;
        s.lastSentMs = now;
        batch.push({ labels: alert.labels, startsAt: s.startsAt, endsAt: iso(endAt) });
      } else if (now - s.lastSentMs >= RESEND_MS) {
        if (s.lastSentMs === -Infinity) sendLag.push(now - (startedAt + alert.startMs));
        s.lastSentMs = now;
        batch.push({
          labels: alert.labels,
          startsAt: s.startsAt,
          endsAt: iso(now + 4 * RESEND_MS),
        });
      }
    }
    const sends: Promise<void>[] = [];
    for (let i = 0; i < batch.length; i += BATCH) {
      const chunk = batch.slice(i, i + BATCH).map((a) => ({
        annotations: {},
        generatorURL: 'http://prometheus.test/graph',
        ...(a as object),
      }));
      for (const url of alertmanagers) {
        const began = performance.now();
        sends.push(
          post(url, chunk).then((ok) => {
            postTimes.push(performance.now() - began);
            if (ok) counts.ok++;
            else counts.failed++;
            counts.alerts += chunk.length;
          }),
        );
      }
    }
    await Promise.all(sends);
  };

  const loop = (async () => {
    while (!stopped) {
      const began = Date.now();
      await tick();
      await new Promise((r) => setTimeout(r, Math.max(0, TICK_MS - (Date.now() - began))));
    }
  })();

  const resolveWhere = (match: (a: PlannedAlert) => boolean) => {
    const now = Date.now() - startedAt;
    for (const s of states) {
      if (s.alert.endMs === undefined && match(s.alert)) s.alert.endMs = now;
    }
  };
  return {
    resolveNode: (node) => resolveWhere((a) => a.node === node),
    resolveAll: () => resolveWhere(() => true),
    done: () =>
      states.every(
        (s) =>
          s.alert.endMs !== undefined &&
          (s.resolvedSends >= RESOLVED_SENDS || s.lastSentMs === -Infinity),
      ),
    stop: async () => {
      stopped = true;
      await loop;
    },
    posts: () => ({ ...counts }),
    sendLagMs: () => sendLag,
    postMs: () => postTimes,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
