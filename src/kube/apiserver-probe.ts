// Is the Kubernetes apiserver reachable right now? A cheap, cached answer for /readyz: a
// background `GET /readyz` of the apiserver every few seconds, with nodeheal's own credentials
// and a short timeout, so that a readiness probe never waits on the network and never piles up
// requests against an apiserver that is struggling.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log/index.ts';

export interface ApiserverState {
  ok: boolean;
  /** `ok`, or what is wrong, naming the apiserver: "apiserver https://10.0.0.1:443 unreachable: connect ECONNREFUSED". */
  detail: string;
  /** When this answer was established (ms since the epoch). */
  checkedAt: number;
}

export interface ApiserverProbe {
  state(): ApiserverState;
  stop(): void;
}

export interface ApiserverProbeOptions {
  /** Time between two checks (default 2 s): an outage shows within interval + timeout. */
  intervalMs?: number;
  /** A check that has no answer by then counts as unreachable (default 1.5 s). */
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Starts probing the apiserver of `kc`'s current cluster; the first answer is "not checked yet"
 * (not ready) until the first check completes.
 *
 * - Reachable means the apiserver answered its own `/readyz` with 200 within the timeout.
 * - Any other answer (an HTTP status, a TLS or connection error, a timeout) is unreachable, and
 *   the detail says which.
 * - Each change of state is logged once (warn when lost, info when back).
 */
export function probeApiserver(
  kc: KubeConfig,
  options: ApiserverProbeOptions = {},
): ApiserverProbe {
  const intervalMs = options.intervalMs ?? 2000;
  const timeoutMs = options.timeoutMs ?? 1500;
  const server = kc.getCurrentCluster()?.server;
  let current: ApiserverState = {
    ok: false,
    detail: server ? `apiserver ${server} not checked yet` : 'no apiserver configured',
    checkedAt: Date.now(),
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const check = async (): Promise<void> => {
    if (!server) return;
    let next: ApiserverState;
    try {
      const status = await getStatus(kc, new URL('/readyz', server), timeoutMs);
      next =
        status === 200
          ? { ok: true, detail: 'ok', checkedAt: Date.now() }
          : {
              ok: false,
              detail: `apiserver ${server} not ready: /readyz answered ${status}`,
              checkedAt: Date.now(),
            };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      next = {
        ok: false,
        detail: `apiserver ${server} unreachable: ${reason}`,
        checkedAt: Date.now(),
      };
    }
    if (next.ok !== current.ok) {
      if (next.ok) options.logger?.info({ apiserver: server }, 'Kubernetes apiserver reachable');
      else
        options.logger?.warn(
          { apiserver: server, detail: next.detail },
          'Kubernetes apiserver lost',
        );
    }
    current = next;
  };

  const loop = () => {
    void check().finally(() => {
      if (!stopped) {
        timer = setTimeout(loop, intervalMs);
        timer.unref();
      }
    });
  };
  loop();

  return {
    state: () => current,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** One GET with the kubeconfig's TLS and credentials; resolves with the status code. */
async function getStatus(kc: KubeConfig, url: URL, timeoutMs: number): Promise<number> {
  const options: RequestOptions = { method: 'GET', headers: { accept: 'text/plain' } };
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return await new Promise<number>((resolve, reject) => {
    const req = send(url, options, (res) => {
      clearTimeout(deadline);
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // A deadline for the whole exchange (connect, TLS, answer), not an idle timeout.
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    req.end();
  });
}
