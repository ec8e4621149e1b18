// A Redis primary with replicas and Redis Sentinels on loopback ports, all Debian's redis-server
// (a Sentinel is `redis-server <conf> --sentinel`), started in a test's private stack so that
// stack.stop() leaves nothing behind. The data nodes run queue/redis.conf like every stack Redis.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from '../../stack/helpers/poll.ts';
import { debianBinaries } from '../../stack/debian.ts';
import { freePort } from '../../stack/ports.ts';
import type { ManagedProcess } from '../../stack/process.ts';
import { redisConfigCopy, redisPing, type Stack } from '../../stack/stack.ts';
import { waitFor } from '../../stack/wait.ts';

export interface SentinelTopology {
  masterName: string;
  /** Data nodes by port; the first one starts as the primary. */
  nodes: Map<number, ManagedProcess>;
  sentinelPorts: number[];
  /** What nodeheal needs to find the primary (NODEHEAL_REDIS_SENTINELS, ..._MASTER). */
  env: Record<string, string>;
  /** A client that follows the primary, as nodeheal's do. */
  client: () => Redis;
  /** The primary's port as a majority of Sentinels reports it. */
  primaryPort: () => Promise<number>;
  /** Resolves with the time the first Sentinel announces a new primary (+switch-master). */
  watchFailover: () => Promise<{ promoted: Promise<number>; close: () => void }>;
}

export interface TopologyOptions {
  replicas: number;
  sentinels: number;
  /** How long a primary must be silent before Sentinel calls it down. */
  downAfterMs: number;
}

async function startDataNode(stack: Stack, name: string, primaryPort?: number) {
  const port = await freePort();
  const dir = join(stack.info.runDir, name);
  const proc = stack.start({
    name,
    dir,
    command: debianBinaries.redisServer.path,
    // A copy: Sentinel's CONFIG REWRITE on failover must not rewrite the repository's file.
    args: [redisConfigCopy(dir)]
      .concat(['--port', String(port), '--bind', '127.0.0.1', '--dir', dir])
      .concat(['--daemonize', 'no', '--logfile', '""', '--save', '""'])
      .concat(primaryPort === undefined ? [] : ['--replicaof', '127.0.0.1', String(primaryPort)]),
  });
  await waitFor(name, () => redisPing(port), {
    timeoutMs: 15_000,
    isDead: () => proc.deathReason(),
  });
  return { port, proc };
}

async function startSentinel(
  stack: Stack,
  name: string,
  masterName: string,
  primaryPort: number,
  options: TopologyOptions,
): Promise<number> {
  const port = await freePort();
  const dir = join(stack.info.runDir, name);
  const quorum = Math.floor(options.sentinels / 2) + 1;
  // Sentinel rewrites its own file (what it learned of replicas and peers), so each gets one.
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs}`,
      `sentinel failover-timeout ${masterName} 10000`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n'),
  );
  const sentinel = stack.start({
    name,
    dir,
    command: debianBinaries.redisServer.path,
    args: [conf, '--sentinel', '--daemonize', 'no', '--logfile', '""'],
  });
  await waitFor(name, () => redisPing(port), {
    timeoutMs: 15_000,
    isDead: () => sentinel.deathReason(),
  });
  return port;
}

/** Starts the primary, its replicas and the Sentinels; resolves once every Sentinel sees them all. */
export async function startSentinelTopology(
  stack: Stack,
  options: TopologyOptions,
): Promise<SentinelTopology> {
  const masterName = 'nodeheal-test';
  const nodes = new Map<number, ManagedProcess>();
  const primary = await startDataNode(stack, 'redis-primary');
  nodes.set(primary.port, primary.proc);
  for (let i = 0; i < options.replicas; i++) {
    const replica = await startDataNode(stack, `redis-replica-${i}`, primary.port);
    nodes.set(replica.port, replica.proc);
  }
  const sentinelPorts: number[] = [];
  for (let i = 0; i < options.sentinels; i++) {
    sentinelPorts.push(
      await startSentinel(stack, `sentinel-${i}`, masterName, primary.port, options),
    );
  }
  const ask = async <T>(port: number, args: string[]): Promise<T> => {
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.call('SENTINEL', ...args)) as T;
    } finally {
      client.disconnect();
    }
  };
  // Sentinels find the replicas through the primary and each other through its hello channel.
  await eventually(
    'every Sentinel to know the replicas and the other Sentinels',
    async () => {
      for (const port of sentinelPorts) {
        const replicas = await ask<unknown[]>(port, ['REPLICAS', masterName]);
        const peers = await ask<unknown[]>(port, ['SENTINELS', masterName]);
        if (replicas.length < options.replicas || peers.length < options.sentinels - 1) {
          return false;
        }
      }
      return true;
    },
    60_000,
    250,
  );
  const env = {
    NODEHEAL_REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
    NODEHEAL_REDIS_SENTINEL_MASTER: masterName,
  };
  return {
    masterName,
    nodes,
    sentinelPorts,
    env,
    client: () =>
      new Redis({
        sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
        name: masterName,
        maxRetriesPerRequest: null,
        failoverDetector: true,
      }),
    watchFailover: async () => {
      const subscriber = new Redis({ port: sentinelPorts[0], host: '127.0.0.1' });
      subscriber.on('error', () => undefined);
      await subscriber.subscribe('+switch-master');
      const promoted = new Promise<number>((resolvePromoted) =>
        subscriber.once('message', () => resolvePromoted(Date.now())),
      );
      return { promoted, close: () => subscriber.disconnect() };
    },
    primaryPort: async () => {
      const votes = new Map<number, number>();
      for (const port of sentinelPorts) {
        const answer = await ask<[string, string] | null>(port, [
          'GET-MASTER-ADDR-BY-NAME',
          masterName,
        ]).catch(() => null);
        if (answer) votes.set(Number(answer[1]), (votes.get(Number(answer[1])) ?? 0) + 1);
      }
      const [port, count] = [...votes].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
      if (count <= sentinelPorts.length / 2) throw new Error('no majority of Sentinels agrees');
      return port;
    },
  };
}
