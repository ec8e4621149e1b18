// PromQL queries against the stack's Prometheus.
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export async function queryPrometheus(prometheusUrl: string, promql: string): Promise<Sample[]> {
  const url = `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] };
  };
  if (body.status !== 'success' || !body.data) {
    throw new Error(`query ${promql} failed: ${body.error ?? response.status}`);
  }
  return body.data.result;
}
