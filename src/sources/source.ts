// What an alert source is to nodeheal: a webhook path, a payload it validates, and a normaliser
// from that payload to source-neutral alerts. Adding a source is one folder under `sources/` and
// its entry in `ALERT_SOURCES`; the HTTP edge, the intake and `nodeheal simulate` take any source.
import type { ReceivedAlert } from '../triage/index.ts';

/** One webhook delivery, normalised: its alerts and where it came from (for the alert log). */
export interface ReceivedBatch {
  /** The source's name (`alertmanager`, `grafana`). */
  source: string;
  alerts: ReceivedAlert[];
  /** The notification group the delivery belongs to, as the source names it. */
  groupKey: string;
  /** The receiver (contact point) that sent it. */
  receiver: string;
}

export type ParsedDelivery = { ok: true; batch: ReceivedBatch } | { ok: false; error: string };

export interface AlertSource {
  /** Short, stable: used in metrics, logs and the alert log. */
  readonly name: string;
  /** Where the source posts: `POST /webhook/<name>`. */
  readonly path: string;
  /** Validates a decoded JSON body and normalises it; a clear error names what is wrong. */
  parse(body: unknown): ParsedDelivery;
}
