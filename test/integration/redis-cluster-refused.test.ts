// What docs/reliability.md says of Redis Cluster, shown on a real one (redis-server in cluster
// mode, one node owning every slot, so that nothing but the hash slots is in the way): nodeheal's
// writes span keys of many slots and the cluster refuses them (CROSSSLOT); `serve` and `worker`
// therefore refuse a cluster at start, exiting 1 with the reason, instead of failing heal by heal.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newHealRecord } from '../../src/heal/index.ts';
import { REDIS_CLUSTER_REFUSED } from '../../src/store/index.ts';
import { redisHealStore } from '../../src/store/heal-store.ts';
import { debianBinaries } from '../stack/debian.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { emptyStack, redisPing, type Stack } from '../stack/stack.ts';
import { waitFor } from '../stack/wait.ts';

const stack = inject('stack');
let cluster: Stack;
let url: string;
let client: Redis;

beforeAll(async () => {
  cluster = emptyStack();
  const port = await freePort();
  const dir = join(cluster.info.runDir, 'redis-cluster');
  const proc = cluster.start({
    name: 'redis-cluster',
    dir,
    command: debianBinaries.redisServer.path,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '""']
      // Cluster mode, its state in the run directory.
      .concat(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')]),
  });
  await waitFor('redis (cluster mode)', () => redisPing(port), {
    timeoutMs: 15_000,
    isDead: () => proc.deathReason(),
  });
  url = `redis://127.0.0.1:${port}`;
  client = new Redis(url);
  // One node owning every slot: the cluster is up, and only the slots stand in the way.
  await client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  await eventually('the cluster to be ok', async () =>
    (await client.call('CLUSTER', 'INFO'))?.toString().includes('cluster_state:ok')
      ? true
      : undefined,
  );
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** Runs `nodeheal <role>` against the cluster; resolves with its exit code and output. */
async function runRole(role: 'serve' | 'worker'): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), role], {
    env: {
      ...process.env,
      NODEHEAL_REDIS_URL: url,
      KUBECONFIG: stack.kubeconfig!,
      NODEHEAL_WEBHOOK_TOKEN: 'cluster-test-token',
      NODEHEAL_LISTEN: `127.0.0.1:${await freePort()}`,
      NODEHEAL_WORKER_LISTEN: `127.0.0.1:${await freePort()}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  try {
    let timer: NodeJS.Timeout | undefined;
    const stillRunning = new Promise<'still running'>((resolveLate) => {
      timer = setTimeout(() => resolveLate('still running'), 60_000);
    });
    const code = await Promise.race([exited, stillRunning]);
    clearTimeout(timer);
    return { code: code === 'still running' ? null : code, output };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('Redis Cluster', () => {
  it("refuses nodeheal's writes: keys of many hash slots in one transaction (CROSSSLOT)", async () => {
    expect((await client.info('cluster')).includes('cluster_enabled:1')).toBe(true);
    const record = newHealRecord({
      id: 'heal-cluster-1',
      node: 'n-1',
      fault: 'kernel-deadlock',
      pool: 'p',
      ladder: [{ action: 'replace', timeoutMs: 60_000 }],
      faultStartedAt: Date.now(),
      now: new Date(),
    });
    await expect(redisHealStore(client).save(record)).rejects.toThrow(/CROSSSLOT/);
  });

  it.each(['serve', 'worker'] as const)(
    '`nodeheal %s` exits 1 at start, saying why',
    async (role) => {
      const { code, output } = await runRole(role);
      expect(code, output).toBe(1);
      expect(output).toContain(REDIS_CLUSTER_REFUSED);
    },
  );
});
