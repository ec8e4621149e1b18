// nodeheal's metrics: one private prom-client registry, `nodeheal_` prefix, names from DESIGN.md.
// Code updates them only through the observe* helpers below, so names and labels stay in one file.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  alertsReceived: Counter<'status'>;
  alertsIgnored: Counter<'reason'>;
  triageDecisions: Counter<'decision' | 'reason'>;
  faultsFlapping: Counter<'fault'>;
  webhookRequests: Counter<'code'>;
  queueJobs: Gauge<'state'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nodeheal_process_' });
  return {
    registry,
    alertsReceived: new Counter({
      name: 'nodeheal_alerts_received_total',
      help: 'Alerts received from Alertmanager, by alert status (firing, resolved).',
      labelNames: ['status'],
      registers: [registry],
    }),
    alertsIgnored: new Counter({
      name: 'nodeheal_alerts_ignored_total',
      help: 'Alerts acknowledged but not acted on, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    triageDecisions: new Counter({
      name: 'nodeheal_triage_decisions_total',
      help: 'Triage decisions taken on received alerts, by decision and reason.',
      labelNames: ['decision', 'reason'],
      registers: [registry],
    }),
    faultsFlapping: new Counter({
      name: 'nodeheal_alerts_flapping_total',
      help: 'Firing alerts whose fault was flapping, so that its heal was held longer.',
      labelNames: ['fault'],
      registers: [registry],
    }),
    webhookRequests: new Counter({
      name: 'nodeheal_webhook_requests_total',
      help: 'Webhook requests answered, by HTTP status code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'nodeheal_queue_jobs',
      help: 'Heal jobs in the queue, by state (read from Redis at scrape time).',
      labelNames: ['state'],
      registers: [registry],
    }),
  };
}

export function observeAlertReceived(m: Metrics, status: string): void {
  m.alertsReceived.inc({ status });
}

export function observeAlertIgnored(m: Metrics, reason: string): void {
  m.alertsIgnored.inc({ reason });
}

export function observeTriageDecision(m: Metrics, decision: string, reason: string): void {
  m.triageDecisions.inc({ decision, reason });
}

export function observeFlapping(m: Metrics, fault: string): void {
  m.faultsFlapping.inc({ fault });
}

export function observeWebhookResponse(m: Metrics, code: number): void {
  m.webhookRequests.inc({ code: String(code) });
}

export function observeQueueJobs(m: Metrics, counts: Record<string, number>): void {
  for (const [state, count] of Object.entries(counts)) m.queueJobs.set({ state }, count);
}
