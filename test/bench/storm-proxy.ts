// A pass-through between the Alertmanagers and `nodeheal serve`, in the benchmark process: it
// times every webhook request from the moment it forwards the body to nodeheal's answer (nodeheal's
// own latency, not Alertmanager's queueing), and notes when each alert episode first reached
// nodeheal as firing (for decision latency: received → heal job scheduled).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { freePort } from '../stack/ports.ts';

export interface WebhookTiming {
  /** Epoch ms the body was forwarded. */
  at: number;
  ms: number;
  status: number;
  alerts: number;
}

export interface TimingProxy {
  url: string;
  timings: WebhookTiming[];
  /** `${node}|${alertname}|${startsAt}` → epoch ms the first firing delivery of it was forwarded. */
  firstFiring: Map<string, number>;
  /** node → every alert of it forwarded: [epoch ms, alertname, status, startsAt, HTTP status]. */
  deliveries: Map<string, [number, string, string, string, number][]>;
  close(): Promise<void>;
}

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  startsAt: string;
}

export function episodeKey(node: string, alertname: string, startsAt: string): string {
  return `${node}|${alertname}|${new Date(startsAt).toISOString()}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startTimingProxy(target: string): Promise<TimingProxy> {
  const timings: WebhookTiming[] = [];
  const firstFiring = new Map<string, number>();
  const deliveries: TimingProxy['deliveries'] = new Map();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const at = Date.now();
      let alerts: WebhookAlert[] = [];
      try {
        alerts = (JSON.parse(body.toString()) as { alerts?: WebhookAlert[] }).alerts ?? [];
      } catch {
        // Not ours to judge: nodeheal answers it.
      }
      const began = performance.now();
      let status = 502;
      let answer: Buffer = Buffer.from('');
      try {
        const upstream = await fetch(`${target}${req.url ?? ''}`, {
          method: req.method ?? 'POST',
          headers: {
            'content-type': req.headers['content-type'] ?? 'application/json',
            ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          },
          body,
        });
        status = upstream.status;
        answer = Buffer.from(await upstream.arrayBuffer());
      } catch {
        // nodeheal did not answer: counted as 502.
      }
      timings.push({ at, ms: performance.now() - began, status, alerts: alerts.length });
      for (const a of alerts) {
        if (!a.labels.node || !a.labels.alertname) continue;
        const seen = deliveries.get(a.labels.node) ?? [];
        seen.push([at, a.labels.alertname, a.status, a.startsAt, status]);
        deliveries.set(a.labels.node, seen);
        if (a.status !== 'firing') continue;
        const key = episodeKey(a.labels.node, a.labels.alertname, a.startsAt);
        if (!firstFiring.has(key)) firstFiring.set(key, at);
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(answer);
    })();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    timings,
    firstFiring,
    deliveries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
