// A Prometheus and an Alertmanager of a test's own, configured from what a user would install:
// the rules of the chart's PrometheusRule and the Alertmanager receiver the chart prints. They
// scrape the shared stack's kube-state-metrics, so the alerts come from the real cluster state.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { debianBinaries } from '../../stack/debian.ts';
import { freePort } from '../../stack/ports.ts';
import { emptyStack, type Stack } from '../../stack/stack.ts';
import { httpGet, waitFor } from '../../stack/wait.ts';

export interface PrivateMonitoring {
  prometheusUrl: string;
  alertmanagerUrl: string;
  stack: Stack;
  stop: () => Promise<void>;
}

/**
 * Starts Alertmanager with `alertmanagerConfig` (an alertmanager.yml as an object) and a
 * Prometheus that evaluates `ruleGroups` (a PrometheusRule's spec.groups) against `ksmUrl`.
 */
export async function startPrivateMonitoring(options: {
  ksmUrl: string;
  ruleGroups: unknown[];
  alertmanagerConfig: Record<string, unknown>;
  /**
   * Keep only the series of these nodes (a regex on the `node` label, or on `lease` for node
   * Leases): the shared cluster holds other tests' nodes, whose alerts this test must not get.
   */
  onlyNodes?: string;
}): Promise<PrivateMonitoring> {
  const stack = emptyStack();
  try {
    const dir = stack.info.runDir;
    const amPort = await freePort();
    const amDir = join(dir, 'alertmanager');
    mkdirSync(amDir, { recursive: true });
    const amConfig = join(amDir, 'alertmanager.yml');
    writeFileSync(amConfig, stringify(options.alertmanagerConfig));
    const am = stack.start({
      name: 'alertmanager',
      dir: amDir,
      command: debianBinaries.alertmanager.path,
      args: [
        `--config.file=${amConfig}`,
        `--storage.path=${join(amDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ],
    });
    const alertmanagerUrl = `http://127.0.0.1:${amPort}`;
    await waitFor(
      'alertmanager',
      async () => ((await httpGet(`${alertmanagerUrl}/-/ready`)) ? true : undefined),
      { timeoutMs: 30_000, isDead: () => am.deathReason() },
    );

    const promPort = await freePort();
    const promDir = join(dir, 'prometheus');
    mkdirSync(promDir, { recursive: true });
    const rules = join(promDir, 'rules.yaml');
    writeFileSync(rules, stringify({ groups: options.ruleGroups }));
    const promConfig = join(promDir, 'prometheus.yml');
    writeFileSync(
      promConfig,
      stringify({
        global: { scrape_interval: '2s', evaluation_interval: '2s', scrape_timeout: '2s' },
        rule_files: [rules],
        scrape_configs: [
          {
            job_name: 'kube-state-metrics',
            static_configs: [{ targets: [new URL(options.ksmUrl).host] }],
            ...(options.onlyNodes === undefined
              ? {}
              : {
                  // A series has `node` or `lease` (a node Lease is named after its node), never
                  // both: their concatenation is the node's name.
                  metric_relabel_configs: [
                    {
                      source_labels: ['node', 'lease'],
                      separator: '',
                      regex: options.onlyNodes,
                      action: 'keep',
                    },
                  ],
                }),
          },
        ],
        alerting: {
          alertmanagers: [
            { api_version: 'v2', static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] },
          ],
        },
      }),
    );
    const prom = stack.start({
      name: 'prometheus',
      dir: promDir,
      command: debianBinaries.prometheus.path,
      args: [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
    });
    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    await waitFor(
      'prometheus',
      async () => ((await httpGet(`${prometheusUrl}/-/ready`)) ? true : undefined),
      { timeoutMs: 30_000, isDead: () => prom.deathReason() },
    );
    return { prometheusUrl, alertmanagerUrl, stack, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop({ keepLogs: true });
    throw error;
  }
}

/**
 * An Alertmanager configuration that sends every alert to one nodeheal webhook, as a production
 * receiver would (one notification group per alert and node, resolutions sent), with timings
 * short enough for tests.
 */
export function nodehealReceiverConfig(webhookUrl: string, bearerToken: string) {
  return {
    route: {
      receiver: 'nodeheal',
      group_by: ['alertname', 'node', 'instance'],
      group_wait: '1s',
      group_interval: '2s',
      repeat_interval: '1m',
    },
    receivers: [
      {
        name: 'nodeheal',
        webhook_configs: [
          {
            url: webhookUrl,
            send_resolved: true,
            http_config: { authorization: { type: 'Bearer', credentials: bearerToken } },
          },
        ],
      },
    ],
  };
}
