// NodeAlert: one Alertmanager alert, normalised and tied to one Kubernetes Node. Produced by the
// intake edge; consumed by the pure triage core (which is why the type lives here).

export type AlertStatus = 'firing' | 'resolved';

export interface NodeAlert {
  /** Kubernetes Node name (DNS-1123 subdomain), resolved from the alert's labels. */
  node: string;
  /** The cluster the alert is about, when nodeheal is configured with one (NODEHEAL_CLUSTER). */
  cluster?: string;
  alertname: string;
  status: AlertStatus;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** When the fault began, per Prometheus: debounce is anchored here, not on delivery. */
  startsAt: Date;
  /** Set for resolved alerts; Alertmanager sends the zero time "0001-01-01T00:00:00Z" otherwise. */
  endsAt?: Date;
  /** Alertmanager's fingerprint, or a stable hash of the sorted labels when absent (old versions). */
  fingerprint: string;
  generatorURL?: string;
  /** The sender's own page (Alertmanager's or Grafana's `externalURL`). */
  sourceURL?: string;
}

/**
 * An alert as its source delivered it (Alertmanager, Grafana Alerting...), in no source's wire
 * format and not yet tied to a Node: what every source's normaliser gives the intake.
 */
export interface ReceivedAlert {
  status: AlertStatus;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  startsAt: Date;
  /** Undefined while the alert has not ended. */
  endsAt?: Date;
  /** The source's own fingerprint, when it sends one. */
  fingerprint?: string;
  generatorURL?: string;
  /** The sender's own page (Alertmanager's or Grafana's `externalURL`). */
  sourceURL?: string;
}
