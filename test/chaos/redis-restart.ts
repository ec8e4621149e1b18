// SIGKILL of a Redis someone else started (the heal harness's private one), found through its
// own INFO (pid) and CONFIG (dir), and a new redis-server on the same port and directory with
// (a copy of) queue/redis.conf: it loads the AOF, as a crashed Redis restarted by its supervisor would.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { debianBinaries } from '../stack/debian.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { isAlive, type ManagedProcess } from '../stack/process.ts';
import { redisConfigCopy, redisPing, type Stack } from '../stack/stack.ts';
import { waitFor } from '../stack/wait.ts';

let restarts = 0;

export async function sigkillAndRestartRedis(url: string, stack: Stack): Promise<ManagedProcess> {
  const client = new Redis(url);
  let pid: number;
  let dir: string;
  try {
    pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    dir = (await client.config('GET', 'dir'))[1]!;
  } finally {
    client.disconnect();
  }
  const port = Number(new URL(url).port);
  process.kill(pid, 'SIGKILL');
  await eventually('Redis gone', () => !isAlive(pid), 10_000, 20);
  const name = `redis-again-${++restarts}`;
  const logDir = join(stack.info.runDir, name);
  const proc = stack.start({
    name,
    dir: logDir,
    command: debianBinaries.redisServer.path,
    args: [redisConfigCopy(logDir)]
      .concat(['--port', String(port), '--bind', '127.0.0.1', '--dir', dir])
      .concat(['--daemonize', 'no', '--logfile', '""', '--save', '""']),
  });
  await waitFor('redis (restarted)', () => redisPing(port), {
    timeoutMs: 15_000,
    isDead: () => proc.deathReason(),
  });
  return proc;
}
