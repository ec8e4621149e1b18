// Prometheus and Alertmanager configuration files for the local stack.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from './paths.ts';

/** Prometheus rule files nodeheal ships, evaluated by the stack's Prometheus. */
export const prometheusRuleGlob = join(repoRoot, 'alert-rules', 'prometheus', '*.yaml');

export function writePrometheusConfig(
  path: string,
  ksmAddress: string | undefined,
  alertmanagerAddresses: string[],
): void {
  const config = {
    global: { scrape_interval: '2s', evaluation_interval: '2s', scrape_timeout: '2s' },
    rule_files: [prometheusRuleGlob],
    scrape_configs: ksmAddress
      ? [{ job_name: 'kube-state-metrics', static_configs: [{ targets: [ksmAddress] }] }]
      : [],
    alerting: {
      alertmanagers:
        alertmanagerAddresses.length > 0
          ? [{ api_version: 'v2', static_configs: [{ targets: alertmanagerAddresses }] }]
          : [],
    },
  };
  writeFileSync(path, stringify(config));
}

/** Where Alertmanager sends notifications, and how it authenticates (Alertmanager http_config). */
export interface WebhookTarget {
  url: string;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** Alertmanager's max_alerts (0 = no limit). */
  maxAlerts?: number;
}

/** Timings short enough for tests, same shape as a production route. */
export interface AlertmanagerTimings {
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
}

export const testTimings: AlertmanagerTimings = {
  groupWait: '1s',
  groupInterval: '2s',
  repeatInterval: '1m',
};

export function writeAlertmanagerConfig(
  path: string,
  target: WebhookTarget | undefined,
  timings: AlertmanagerTimings = testTimings,
): void {
  const httpConfig: Record<string, unknown> = {};
  if (target?.bearerToken) {
    httpConfig.authorization = { type: 'Bearer', credentials: target.bearerToken };
  }
  if (target?.basicAuth) httpConfig.basic_auth = target.basicAuth;
  const receiver = target
    ? {
        name: 'nodeheal',
        webhook_configs: [
          {
            url: target.url,
            send_resolved: true,
            max_alerts: target.maxAlerts ?? 0,
            ...(Object.keys(httpConfig).length > 0 ? { http_config: httpConfig } : {}),
          },
        ],
      }
    : { name: 'nodeheal' };
  const config = {
    route: {
      receiver: 'nodeheal',
      group_by: ['alertname', 'node'],
      group_wait: timings.groupWait,
      group_interval: timings.groupInterval,
      repeat_interval: timings.repeatInterval,
    },
    receivers: [receiver],
  };
  writeFileSync(path, stringify(config));
}

export function configDir(runDir: string, name: string): string {
  return join(runDir, name);
}
