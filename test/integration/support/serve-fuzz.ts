// The real `nodeheal serve` as a fuzz target: a child process with the shipped catalog, webhook
// bearer and basic credentials, a 2 MiB body limit (so 1 MB label values are accepted and a bit
// more is refused with 413), its own Redis and the given kubeconfig. Shared by the property test
// and `npm run fuzz`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../stack/paths.ts';
import { startNodeheal, type NodehealProcess } from './nodeheal-process.ts';
import type { FuzzTarget } from './webhook-fuzz-inputs.ts';

export const SERVE_FUZZ_CREDENTIALS = {
  token: 'fuzz-token-0123456789',
  user: 'alertmanager',
  password: 'fu:zz-pass',
};
export const SERVE_FUZZ_LIMIT = 2 * 1024 * 1024;

/** Starts serve for fuzzing; `nodes` are the names the cases use (they need not exist). */
export async function startFuzzServe(options: {
  redisUrl: string;
  kubeconfig: string;
  nodes: string[];
  /** pino level; `warn` logs every refused payload, `error` only what went wrong. */
  logLevel?: string;
}): Promise<{ serve: NodehealProcess; target: FuzzTarget }> {
  const serve = await startNodeheal(
    {
      NODEHEAL_REDIS_URL: options.redisUrl,
      KUBECONFIG: options.kubeconfig,
      NODEHEAL_WEBHOOK_TOKEN: SERVE_FUZZ_CREDENTIALS.token,
      NODEHEAL_WEBHOOK_USERNAME: SERVE_FUZZ_CREDENTIALS.user,
      NODEHEAL_WEBHOOK_PASSWORD: SERVE_FUZZ_CREDENTIALS.password,
      NODEHEAL_BODY_LIMIT: String(SERVE_FUZZ_LIMIT),
      NODEHEAL_LOG_LEVEL: options.logLevel ?? 'warn',
    },
    readFileSync(join(repoRoot, 'alert-rules', 'remedies.yaml'), 'utf8'),
  );
  return {
    serve,
    target: { ...SERVE_FUZZ_CREDENTIALS, limit: SERVE_FUZZ_LIMIT, nodes: options.nodes },
  };
}

/** Resident memory of a process in MiB (VmRSS from /proc), 0 once it is gone. */
export function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Whether the process answers /healthz and /readyz with 200 (alive, Redis and Kubernetes ok). */
export async function aliveAndReady(serve: NodehealProcess): Promise<{
  exitCode: number | null;
  healthz: number;
  readyz: number;
}> {
  const get = async (path: string) =>
    // Generous: /readyz asks Redis and the apiserver, slow on a loaded machine after a fuzz run.
    (await fetch(`${serve.url}${path}`, { signal: AbortSignal.timeout(15_000) })).status;
  return {
    exitCode: serve.child.exitCode,
    healthz: await get('/healthz'),
    readyz: await get('/readyz'),
  };
}
