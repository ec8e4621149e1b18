// Alert sources: each turns its own webhook payload into source-neutral alerts. The HTTP edge
// mounts one route per source; nothing outside `sources/` knows a payload format.
import { alertmanagerSource } from './alertmanager/index.ts';
import { grafanaSource } from './grafana/index.ts';
import type { AlertSource } from './source.ts';

export type { AlertSource, ParsedDelivery, ReceivedBatch } from './source.ts';
export { alertmanagerSource, parseRfc3339 } from './alertmanager/index.ts';
export { grafanaSource } from './grafana/index.ts';

/** Every source nodeheal accepts, by name. */
export const ALERT_SOURCES: readonly AlertSource[] = [alertmanagerSource, grafanaSource];

export function sourceNamed(name: string): AlertSource | undefined {
  return ALERT_SOURCES.find((s) => s.name === name);
}
