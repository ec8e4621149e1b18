// /readyz of `nodeheal serve` and `nodeheal worker` against a real apiserver that goes away and
// comes back: a private Kubernetes stack of this file's own, whose kube-apiserver the test stops
// and starts again on the same port. /healthz stays "process alive" throughout.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../stack/helpers/poll.ts';
import type { ManagedProcess } from '../stack/process.ts';
import { restartProcess, startStack, type Stack } from '../stack/stack.ts';
import { tlsGet } from '../stack/tls-get.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';

/** How long an apiserver outage may take to show on /readyz (probe every 2 s, 1.5 s timeout). */
const NOTICE_MS = 5000;

let stack: Stack;
let harness: Harness;
let apiserver: ManagedProcess;

interface Readiness {
  status: number;
  body: { ready: boolean; checks: Record<string, string> };
}

async function readyz(url: string): Promise<Readiness> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

/** The two endpoints under test: serve's and the worker's. */
function endpoints(): [string, string][] {
  return [
    ['serve', harness.serveUrl],
    ['worker', harness.workers[0]!.url],
  ];
}

beforeAll(async () => {
  stack = await startStack({ mode: 'attached', parts: ['kube'] });
  apiserver = stack.processes.find((p) => p.spec.name === 'kube-apiserver')!;
  harness = await startHarness({ kubeconfig: stack.info.kubeconfig! });
});

afterAll(async () => {
  await harness?.stop();
  await stack?.stop();
});

describe('/readyz follows the apiserver', () => {
  it('200 while Redis and the apiserver answer, 503 naming Kubernetes within 5 s of the apiserver stopping, 200 again once it is back', async () => {
    for (const [role, url] of endpoints()) {
      const ready = await eventually(
        `${role} ready`,
        async () => {
          const r = await readyz(url);
          return r.status === 200 ? r : false;
        },
        30_000,
      );
      expect(ready.body).toEqual({ ready: true, checks: { redis: 'ok', kubernetes: 'ok' } });
    }

    await apiserver.stop();
    const stoppedAt = Date.now();
    for (const [role, url] of endpoints()) {
      const down = await eventually(
        `${role} /readyz 503 after the apiserver stopped`,
        async () => {
          const r = await readyz(url);
          return r.status === 503 ? r : false;
        },
        NOTICE_MS - (Date.now() - stoppedAt),
        200,
      );
      expect(Date.now() - stoppedAt).toBeLessThan(NOTICE_MS);
      expect(down.body.ready).toBe(false);
      // The answer names what is down: Kubernetes (its apiserver), not Redis.
      expect(down.body.checks.redis).toBe('ok');
      expect(down.body.checks.kubernetes).toMatch(
        new RegExp(`apiserver ${stack.info.apiserverUrl}.* unreachable`),
      );
      // Process alive: liveness must not restart nodeheal for an apiserver outage.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    }

    const pki = join(stack.info.runDir, 'pki');
    apiserver = await restartProcess(stack, apiserver, async () => {
      const res = await tlsGet(`${stack.info.apiserverUrl}/readyz`, {
        ca: join(pki, 'ca.crt'),
        cert: join(pki, 'admin.crt'),
        key: join(pki, 'admin.key'),
      });
      return res.status === 200 ? true : undefined;
    });
    // serve also waits for its node watch to reconnect (it retries every 5 s).
    for (const [role, url] of endpoints()) {
      const back = await eventually(
        `${role} ready again`,
        async () => {
          const r = await readyz(url);
          return r.status === 200 ? r : false;
        },
        30_000,
      );
      expect(back.body).toEqual({ ready: true, checks: { redis: 'ok', kubernetes: 'ok' } });
    }
  });
});
