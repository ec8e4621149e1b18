// Posts alerts to Alertmanager's API, the way Prometheus does.
export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export async function postAlerts(alertmanagerUrl: string, alerts: PostedAlert[]): Promise<void> {
  const res = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      alerts.map((a) => ({ generatorURL: 'http://prometheus.test/graph', annotations: {}, ...a })),
    ),
  });
  if (!res.ok)
    throw new Error(`posting alerts to ${alertmanagerUrl}: ${res.status} ${await res.text()}`);
}

/** What Alertmanager itself counts for the webhook integration (sent and failed notifications). */
export async function alertmanagerNotifications(
  alertmanagerUrl: string,
): Promise<{ total: number; failed: number }> {
  const text = await (await fetch(`${alertmanagerUrl}/metrics`)).text();
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name) && l.includes('integration="webhook"'))
      .reduce((acc, l) => acc + Number(l.split(' ').pop()), 0);
  return {
    total: sum('alertmanager_notifications_total'),
    failed: sum('alertmanager_notifications_failed_total'),
  };
}
